"""Namespaces: listing, counting and verifying a prefix is empty; no I/O here.

``list_namespaces`` is one FT.AGGREGATE matched in Python; :meth:`NamespacesMixin._count_gen`
counts items and their last write per namespace in one FT.AGGREGATE; and
:meth:`NamespacesMixin._scan_prefix_gen` walks the keys with SCAN, without the index, to
check that nothing is left under a prefix (e.g. after erasing a user).

Example:
    >>> from langgraph.store.base import ListNamespacesOp, MatchCondition
    >>> op = ListNamespacesOp((MatchCondition("suffix", ("*", "b")),), max_depth=None)
    >>> NamespacesMixin._list_result(op, [{"ns": '["a", "b"]'}, {"ns": '["b"]'}])
    [('a', 'b')]
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langgraph.store.base import ListNamespacesOp

from langmem_ext.store import _keys as K
from langmem_ext.store._resp import Pipe, parse_aggregate, to_datetime

__all__ = ["NamespaceCount", "NamespacesMixin"]

Gen = Generator[Any, Any, Any]


@dataclass(frozen=True)
class NamespaceCount:
    """How many items a namespace holds and when one of them was last written."""

    namespace: tuple[str, ...]
    items: int
    updated_at: datetime | None


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

    def _count_gen(self, prefix: Sequence[str]) -> Gen:
        """Items and last write per namespace under ``prefix`` (labels matched exactly)."""
        prefix = tuple(prefix)
        yield from self._ensure_ready()  # type: ignore[attr-defined]
        query = "@r:{1}" + (f" @p:{{{K.prefix_tokens(prefix)[-1]}}}" if prefix else "")
        reply = (yield Pipe([("FT.AGGREGATE", self._idx, query, "LOAD", "2", "@ns", "@u", "GROUPBY", "1", "@ns",
                              "REDUCE", "COUNT", "0", "AS", "n", "REDUCE", "MAX", "1", "@u", "AS", "last",
                              "LIMIT", "0", "1000000", "DIALECT", "2")]))[0]
        out = []
        for row in parse_aggregate(reply):
            if row.get("ns") is None:
                continue
            ns = tuple(json.loads(row["ns"]))
            if ns[: len(prefix)] != prefix:
                continue
            last = row.get("last")
            when = to_datetime(float(last)) if last not in (None, b"", "") else None
            out.append(NamespaceCount(ns, int(float(row.get("n") or 0)), when))
        return sorted(out, key=lambda c: c.namespace)

    def _scan_prefix_gen(self, prefix: Sequence[str]) -> Gen:
        """Keys (items and their extra vectors) still under ``prefix``, found by SCAN, not the index."""
        wanted = K.prefix_tokens(tuple(prefix))[-1].encode()
        cursor: Any = 0
        left = 0
        while True:
            cursor, keys = (yield Pipe([("SCAN", cursor, "MATCH", f"{self.prefix}:i:*", "COUNT", "1000")]))[0]
            if keys:
                for tokens in (yield Pipe([("HGET", k, "p") for k in keys])):
                    if tokens is not None and wanted in (tokens if isinstance(tokens, bytes) else tokens.encode()).split(b","):
                        left += 1
            if int(cursor) == 0:
                return left

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
