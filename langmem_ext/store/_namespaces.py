"""Namespaces: listing, counting and verifying a prefix is empty; no I/O here.

``list_namespaces`` is one FT.AGGREGATE matched in Python; :meth:`NamespacesMixin._count_gen`
counts items and their last write per namespace from the index alone (see below); and
:meth:`NamespacesMixin._scan_prefix_gen` walks the keys with SCAN, without the index, to
check that nothing is left under a prefix (e.g. after erasing a user).

Counting reads no item. ``FT.TAGVALS`` lists the prefix tokens the index holds (one per
namespace prefix in use, not per item); each token is resolved to its labels once per
process, from one item that carries it, and cached (a token is a hash of the labels, so
the mapping never changes). Then one pipelined round trip asks, per namespace, for the
items that carry its token and none of its children's tokens (exactly that namespace),
sorted by the sortable write time: the reply's total is the count and its first row the
last write. An ``FT.AGGREGATE ... LOAD @ns GROUPBY @ns`` over the items (the first
version) reads a field of every item instead; ``benchmarks/ui.py`` measures both.

Example:
    >>> from langgraph.store.base import ListNamespacesOp, MatchCondition
    >>> op = ListNamespacesOp((MatchCondition("suffix", ("*", "b")),), max_depth=None)
    >>> NamespacesMixin._list_result(op, [{"ns": '["a", "b"]'}, {"ns": '["b"]'}])
    [('a', 'b')]
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langgraph.store.base import ListNamespacesOp

from langmem_ext.store import _keys as K
from langmem_ext.store._resp import Pipe, parse_aggregate, parse_search, to_datetime

__all__ = ["NamespaceCount", "NamespacesMixin"]

Gen = Generator[Any, Any, Any]
_TOKEN = re.compile(r"[0-9a-f]{20}")
#: Resolved prefix tokens kept per store (each is a few dozen bytes); the cache restarts beyond.
_MAX_RESOLVED = 200_000


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

    def _prefixes_gen(self) -> Gen:
        """``{token: labels}`` of every namespace prefix in the index (see the module docstring)."""
        raw = (yield Pipe([("FT.TAGVALS", self._idx, "p")]))[0]
        tokens = [t for t in ((x.decode() if isinstance(x, bytes) else str(x)) for x in raw) if _TOKEN.fullmatch(t)]
        resolved: dict[str, tuple[str, ...]] = self.__dict__.setdefault("_resolved_prefixes", {})
        unknown = [t for t in tokens if t not in resolved]
        if unknown:
            replies = yield Pipe([("FT.SEARCH", self._idx, f"@r:{{1}} @p:{{{t}}}", "RETURN", "1", "ns",
                                   "LIMIT", "0", "1", "DIALECT", "2") for t in unknown])
            if len(resolved) + len(unknown) > _MAX_RESOLVED:
                resolved.clear()
            for t, reply in zip(unknown, replies):
                rows = parse_search(reply).rows
                if rows and rows[0].fields.get("ns") is not None:  # none: a value the index has not yet collected
                    ns = tuple(json.loads(rows[0].fields["ns"]))
                    tokens_of_ns = K.prefix_tokens(ns)
                    if t in tokens_of_ns:
                        resolved[t] = ns[: tokens_of_ns.index(t) + 1]
        return {t: resolved[t] for t in tokens if t in resolved}

    def _count_gen(self, prefix: Sequence[str], depth: int | None = None) -> Gen:
        """Items and last write per namespace under ``prefix`` (labels matched exactly), from the index alone.

        ``depth``: count only the namespaces of that many labels (each query costs about
        as much as the items under its namespace, so skipping the levels above saves work).
        """
        prefix = tuple(prefix)
        if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
            raise ValueError(f"depth must be a positive number of labels or None, got {depth!r}.")
        yield from self._ensure_ready()  # type: ignore[attr-defined]
        known = yield from self._prefixes_gen()
        under = {labels: t for t, labels in known.items() if labels[: len(prefix)] == prefix}
        children: dict[tuple[str, ...], list[str]] = {labels: [] for labels in under}
        for labels, t in under.items():
            if labels[:-1] in children:
                children[labels[:-1]].append(t)
        namespaces = sorted(ns for ns in under if depth is None or len(ns) == depth)
        cmds = []
        for labels in namespaces:
            query = f"@r:{{1}} @p:{{{under[labels]}}}"
            if children[labels]:
                query += " -@p:{" + "|".join(sorted(children[labels])) + "}"
            cmds.append(("FT.SEARCH", self._idx, query, "SORTBY", "u", "DESC", "RETURN", "1", "u",
                         "LIMIT", "0", "1", "DIALECT", "2"))
        out = []
        for labels, reply in zip(namespaces, (yield Pipe(cmds)) if cmds else []):
            hits = parse_search(reply)
            if hits.total:
                last = hits.rows[0].fields.get("u") if hits.rows else None
                out.append(NamespaceCount(labels, hits.total, to_datetime(last) if last not in (None, b"", "") else None))
        return out

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
