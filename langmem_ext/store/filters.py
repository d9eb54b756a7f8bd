"""Search filters: InMemoryStore's semantics, pushed down into RediSearch as TAG/NUMERIC clauses.

A filter maps top-level value keys to a condition: a plain value (equality, as
Python's ``==`` sees it, so ``1 == 1.0 == True``), a nested object (every sub-key
must match, recursively), a list (same length, element-wise), or operators
``$eq $ne $gt $gte $lt $lte $in``. :func:`compile_filter` turns it into RediSearch
clauses over hashed tokens (see :mod:`langmem_ext.store._keys`), so no user text
reaches the query; :func:`matches` evaluates the same filter in Python and is
applied to every hit as a final check.

Two deliberate differences from InMemoryStore, both documented behaviour:
``$in`` is supported, and a range operator on a missing, null or non-numeric value
simply does not match (InMemoryStore raises from ``float(None)``).

Example:
    >>> plan = compile_filter({"color": "red", "score": {"$gt": 3}}, has_numeric=lambda p: True)
    >>> plan.exact, len(plan.clauses)
    (True, 2)
    >>> matches({"color": "red", "score": 4}, {"color": "red", "score": {"$gt": 3}})
    True
    >>> matches({"score": None}, {"score": {"$gt": 3}})
    False
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langmem_ext.store._keys import (
    MAX_NUMERIC_DEPTH,
    dict_token,
    eq_token,
    exists_token,
    numeric_field,
)

__all__ = ["OPERATORS", "FilterPlan", "InvalidFilterError", "compile_filter", "matches"]

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in")
_RANGE = {"$gt", "$gte", "$lt", "$lte"}


class InvalidFilterError(ValueError):
    """A search filter uses an unknown operator or a value of the wrong kind."""


@dataclass
class FilterPlan:
    """RediSearch clauses (ANDed) for a filter.

    Attributes:
        clauses: query fragments to join with spaces.
        exact: the clauses select exactly the matching items (no Python re-check can drop any).
        impossible: no item can match (e.g. a range on a path never stored as a number).
        numeric_paths: value paths whose NUMERIC attribute the clauses use.
    """

    clauses: list[str] = field(default_factory=list)
    exact: bool = True
    impossible: bool = False
    numeric_paths: set[tuple[str, ...]] = field(default_factory=set)


def _tag(*tokens: str) -> str:
    return "@f:{" + "|".join(tokens) + "}"


def _num(x: Any, op: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(float(x)):
        raise InvalidFilterError(
            f"Filter operator {op} needs a number, got {x!r}. "
            "Compare strings with $eq/$ne/$in instead."
        )
    return float(x)


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return repr(x)


def _parents(path: tuple[str, ...]) -> list[str]:
    return [_tag(dict_token(path[:i])) for i in range(1, len(path))]


def _has_nested(values: Sequence[Any]) -> bool:
    return any(isinstance(v, (dict, list, tuple)) for v in values)


def _compile(path: tuple[str, ...], cond: Any, plan: FilterPlan, has_numeric: Callable[[tuple[str, ...]], bool | None]) -> None:
    if isinstance(cond, Mapping):
        ops = [k for k in cond if isinstance(k, str) and k.startswith("$")]
        if not ops:
            plan.clauses.append(_tag(dict_token(path)))
            for k, v in cond.items():
                _compile((*path, str(k)), v, plan, has_numeric)
            return
        if len(ops) != len(cond):
            raise InvalidFilterError(
                f"Filter at {'.'.join(path)!r} mixes operators and plain keys ({list(cond)}); "
                "use either {'$op': value} or a nested object."
            )
        for op, arg in cond.items():
            _operator(path, op, arg, plan, has_numeric)
        return
    if isinstance(cond, (list, tuple)):
        if _has_nested(cond):
            plan.exact = False  # element-wise sub-object matching: checked in Python
            return
        plan.clauses.append(_tag(eq_token(path, list(cond))))
        return
    _operator(path, "$eq", cond, plan, has_numeric)


def _operator(path: tuple[str, ...], op: str, arg: Any, plan: FilterPlan, has_numeric: Callable[[tuple[str, ...]], bool | None]) -> None:
    if op not in OPERATORS:
        raise InvalidFilterError(
            f"Unsupported filter operator {op!r} at {'.'.join(path)!r}; use one of {', '.join(OPERATORS)}."
        )
    parents = _parents(path)
    if op == "$eq":
        if isinstance(arg, Mapping):
            plan.exact = False
        elif arg is None:
            plan.clauses += [*parents, f"({_tag(eq_token(path, None))}|-{_tag(exists_token(path))})"]
        else:
            plan.clauses.append(_tag(eq_token(path, arg)))
    elif op == "$ne":
        if isinstance(arg, Mapping):
            plan.exact = False
            plan.clauses += parents
        elif arg is None:
            plan.clauses += [_tag(exists_token(path)), "-" + _tag(eq_token(path, None))]
        else:
            plan.clauses += [*parents, "-" + _tag(eq_token(path, arg))]
    elif op == "$in":
        if not isinstance(arg, (list, tuple, set, frozenset)):
            raise InvalidFilterError(f"Filter operator $in at {'.'.join(path)!r} needs a list, got {arg!r}.")
        values = list(arg)
        if any(isinstance(v, Mapping) for v in values):
            plan.exact = False
            return
        if not values:
            plan.impossible = True
            return
        tokens = [eq_token(path, v) for v in values if v is not None]
        alts = [_tag(*tokens)] if tokens else []
        if any(v is None for v in values):
            alts += [_tag(eq_token(path, None)), "-" + _tag(exists_token(path))]
            plan.clauses += parents
        plan.clauses.append("(" + "|".join(alts) + ")")
    else:
        x = _num(arg, op)
        if len(path) > MAX_NUMERIC_DEPTH:
            plan.exact = False
            return
        known = has_numeric(path)
        if known is None:
            plan.exact = False  # numbers there may exist but are not indexed: checked in Python
            return
        if not known:
            plan.impossible = True  # no item ever stored a number there
            return
        lo, hi = {"$gt": (f"({_fmt(x)}", "+inf"), "$gte": (_fmt(x), "+inf"),
                  "$lt": ("-inf", f"({_fmt(x)}"), "$lte": ("-inf", _fmt(x))}[op]
        plan.clauses.append(f"@{numeric_field(path)}:[{lo} {hi}]")
        plan.numeric_paths.add(path)


def compile_filter(
    filter: Mapping[str, Any] | None,
    *,
    has_numeric: Callable[[tuple[str, ...]], bool | None],
) -> FilterPlan:
    """RediSearch clauses for ``filter``.

    Args:
        filter: the search filter (``None`` or empty for none).
        has_numeric: whether the index has a NUMERIC attribute for a value path
            (``None``: unknown, the path may hold unindexed numbers).

    Raises:
        InvalidFilterError: for unknown operators or non-numeric range bounds.
    """
    plan = FilterPlan()
    if not filter:
        return plan
    if not isinstance(filter, Mapping):
        raise InvalidFilterError(f"filter must be a dict of value keys to conditions, got {type(filter).__name__}.")
    for key, cond in filter.items():
        _compile((str(key),), cond, plan, has_numeric)
    return plan


def _compare(item_value: Any, cond: Any) -> bool:
    if isinstance(cond, Mapping):
        if any(isinstance(k, str) and k.startswith("$") for k in cond):
            return all(_apply(item_value, op, arg) for op, arg in cond.items())
        if not isinstance(item_value, Mapping):
            return False
        return all(_compare(item_value.get(k), v) for k, v in cond.items())
    if isinstance(cond, (list, tuple)):
        return (
            isinstance(item_value, (list, tuple))
            and len(item_value) == len(cond)
            and all(_compare(iv, fv) for iv, fv in zip(item_value, cond))
        )
    return bool(item_value == cond)


def _apply(value: Any, op: str, arg: Any) -> bool:
    if op == "$eq":
        return bool(value == arg)
    if op == "$ne":
        return bool(value != arg)
    if op == "$in":
        return any(value == a for a in arg)
    if op in _RANGE:
        try:
            v, a = float(value), float(arg)
        except (TypeError, ValueError):
            return False
        return {"$gt": v > a, "$gte": v >= a, "$lt": v < a, "$lte": v <= a}[op]
    raise InvalidFilterError(f"Unsupported filter operator {op!r}; use one of {', '.join(OPERATORS)}.")


def matches(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Whether a stored value satisfies ``filter`` (InMemoryStore's rules, plus ``$in``)."""
    if not filter:
        return True
    return all(_compare(value.get(k), cond) for k, cond in filter.items())
