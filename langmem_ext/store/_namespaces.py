"""``list_namespaces``: distinct namespaces from one FT.AGGREGATE, matched in Python; no I/O.

Example:
    >>> from langgraph.store.base import ListNamespacesOp, MatchCondition
    >>> op = ListNamespacesOp((MatchCondition("suffix", ("*", "b")),), max_depth=None)
    >>> NamespacesMixin._list_result(op, [{"ns": '["a", "b"]'}, {"ns": '["b"]'}])
    [('a', 'b')]
"""

from __future__ import annotations

import json
from typing import Any

from langgraph.store.base import ListNamespacesOp

from langmem_ext.store import _keys as K

__all__ = ["NamespacesMixin"]


class NamespacesMixin:
    """Builds the namespace listing command and filters its rows."""

    prefix: str
    _idx: str

    def _list_command(self, op: ListNamespacesOp) -> tuple[Any, ...]:
        query = "@r:{1}"
        for cond in op.match_conditions or ():
            if cond.match_type == "prefix":
                fixed = []
                for label in cond.path:
                    if label == "*":
                        break
                    fixed.append(label)
                if fixed:
                    query += f" @p:{{{K.prefix_tokens(fixed)[-1]}}}"
        return ("FT.AGGREGATE", self._idx, query, "LOAD", "1", "@ns", "GROUPBY", "1", "@ns",
                "LIMIT", "0", "1000000", "DIALECT", "2")

    @staticmethod
    def _list_result(op: ListNamespacesOp, rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
        namespaces = [tuple(json.loads(r["ns"])) for r in rows if r.get("ns") is not None]
        for cond in op.match_conditions or ():
            path = tuple(cond.path)
            if cond.match_type not in ("prefix", "suffix"):
                raise ValueError(f"Unsupported match type: {cond.match_type!r}; use 'prefix' or 'suffix'.")
            namespaces = [ns for ns in namespaces if _does_match(cond.match_type, path, ns)]
        if op.max_depth is not None:
            namespaces = list({ns[: op.max_depth] for ns in namespaces})
        return sorted(namespaces)[op.offset : op.offset + op.limit]



def _does_match(kind: str, path: tuple[str, ...], ns: tuple[str, ...]) -> bool:
    if len(ns) < len(path):
        return False
    pairs = zip(ns, path) if kind == "prefix" else zip(reversed(ns), reversed(path))
    return all(p == "*" or k == p for k, p in pairs)
