"""Numbers of many items without their values: :meth:`NumbersMixin._numbers_gen`; no I/O here.

Every put stores, next to the JSON value, each number (:func:`~langmem_ext.store._keys.numeric_field`)
and each ISO 8601 date-time (:func:`~langmem_ext.store._keys.time_field`, microseconds since
the epoch) found at the value's object paths up to three levels deep, and marks the item
``dv`` when all of them are there. ``numbers()`` reads just those hash fields of every
item of one namespace (``FT.AGGREGATE ... LOAD`` through a cursor, the namespace and the
filter answered by the index, items of deeper namespaces dropped by a ``FILTER`` on their
exact prefix tokens), so a statistic over thousands of items moves a few numbers
per item instead of its JSON. An item written before the date-time fields existed has no
mark: its row says ``complete=False`` and the caller reads its value instead.

Example:
    >>> rows = NumbersMixin._number_rows([1, [b"k", b"a", b"dv", b"1", b"nX", b"2.5", b"dY", b"1000000"]],
    ...                                  [(("x",), b"nX", False), (("y",), b"dY", True)])
    >>> rows[0].numbers, rows[0].times[("y",)].isoformat(), rows[0].complete
    ({('x',): 2.5}, '1970-01-01T00:00:01+00:00', True)
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from langgraph.store.base import SearchOp, validate_op_namespace

from langmem_ext.store import _keys as K
from langmem_ext.store._resp import Pipe
from langmem_ext.store._timeout import TIMEOUT_TEXT, timeout_error
from langmem_ext.store.filters import InvalidFilterError, compile_filter

__all__ = ["ItemNumbers", "NumbersMixin"]

Gen = Generator[Any, Any, Any]
#: Rows per cursor read.
_CHUNK = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ItemNumbers:
    """The numbers and date-times of one item at the requested value paths.

    Attributes:
        key: The item's key.
        numbers: Path to number (booleans as 0.0 / 1.0), for the paths that hold one.
        times: Path to UTC date-time, for the paths that hold an ISO 8601 date-time string.
        complete: Whether the item was written with all its numbers and date-times stored
            beside the value; if not (written by an older version, or more than 200
            numbers), a path missing here may still hold one: read the value.
    """

    key: str
    numbers: dict[tuple[str, ...], float] = field(default_factory=dict)
    times: dict[tuple[str, ...], datetime] = field(default_factory=dict)
    complete: bool = True


def _s(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


class NumbersMixin:
    """``_numbers_gen``, mixed into the base store."""

    _idx: str
    _numeric: set[tuple[str, ...]]
    _numeric_full: bool

    def _numbers_gen(self, namespace: Sequence[str], paths: Sequence[Sequence[str]], times: Sequence[Sequence[str]],
                     filter: Mapping[str, Any] | None) -> Gen:
        namespace = tuple(namespace)
        validate_op_namespace(SearchOp(namespace))
        if not namespace:
            raise ValueError("numbers() needs a namespace (its items are read, not those of deeper namespaces).")
        paths, times = _paths(paths, "paths"), _paths(times, "times")
        yield from self._ensure_ready()  # type: ignore[attr-defined]
        plan = compile_filter(dict(filter) if filter else None, has_numeric=self._has_numeric)  # type: ignore[attr-defined]
        if not plan.exact:
            raise InvalidFilterError(
                f"numbers() takes filters the index answers exactly (equality, $ne, $in and ranges on "
                f"indexed numbers); {dict(filter or {})!r} needs the values read: use search() instead."
            )
        if plan.impossible:
            return []
        fields = [(p, K.numeric_field(p).encode(), False) for p in paths] + [(p, K.time_field(p).encode(), True) for p in times]
        loads = ["@k", "@dv", "@p", *(f"@{f.decode()}" for _, f, _ in fields)]
        query = " ".join([f"@r:{{1}} @p:{{{K.prefix_tokens(namespace)[-1]}}}", *plan.clauses])
        # Items of deeper namespaces carry the token too: keep those whose tokens are exactly this namespace's.
        exact = f"@p == '{K.namespace_fields(namespace)[1]}'"
        cmd = ("FT.AGGREGATE", self._idx, query, "LOAD", str(len(loads)), *loads, "FILTER", exact,
               "WITHCURSOR", "COUNT", str(_CHUNK), "DIALECT", "2")
        out: list[ItemNumbers] = []
        reply, cursor = (yield Pipe([cmd]))[0]
        while True:
            # A read that runs out of time ends early and the cursor goes on from there (measured:
            # every row arrives); only a timed-out last read would have lost rows.
            if not int(cursor or 0) and isinstance(reply, dict) and any(
                    TIMEOUT_TEXT in _s(w).lower() for w in reply.get(b"warning", []) or []):
                raise timeout_error(getattr(self, "query_timeout_ms", 0) or 0)
            out += self._number_rows(reply, fields)
            if not cursor or int(cursor) == 0:
                return out
            reply, cursor = (yield Pipe([("FT.CURSOR", "READ", self._idx, cursor, "COUNT", str(_CHUNK))]))[0]

    @staticmethod
    def _number_rows(reply: Any, fields: Sequence[tuple[tuple[str, ...], bytes, bool]]) -> list[ItemNumbers]:
        """Rows of one FT.AGGREGATE reply (RESP2 or RESP3), the hash fields as ``fields`` name them."""
        if isinstance(reply, dict):
            rows = [r.get(b"extra_attributes") or {} for r in reply.get(b"results", [])]
        else:
            rows = [dict(zip(r[::2], r[1::2])) for r in reply[1:]]
        out = []
        for row in rows:
            key = row.get(b"k")
            if key is None:
                continue
            numbers, times = {}, {}
            for path, name, is_time in fields:
                raw = row.get(name)
                if raw:
                    if is_time:
                        times[path] = _EPOCH + timedelta(microseconds=int(raw))
                    else:
                        numbers[path] = float(raw)
            out.append(ItemNumbers(key.decode(), numbers, times, complete=b"dv" in row))
        return out


def _paths(paths: Any, what: str) -> list[tuple[str, ...]]:
    if isinstance(paths, str) or any(isinstance(p, str) or not p or not all(isinstance(x, str) for x in p) for p in paths):
        raise ValueError(f"{what} must be tuples of value keys, e.g. [('importance',), ('meta', 'score')]; got {paths!r}.")
    return [tuple(p) for p in paths]
