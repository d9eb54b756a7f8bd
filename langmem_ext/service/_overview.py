"""The service's overview operations: users with their counts, and one user's statistics.

Generators of requests like every operation (see :mod:`._drive`), mixed into
:class:`~langmem_ext.service._ops.ServiceCore`. Both ask the store for as little as it can
answer: counts per namespace from the index (``count_namespaces``), and for statistics a
few numbers per memory (``numbers``) instead of the memories; a store without those
methods (e.g. ``InMemoryStore``) is read whole, with the same results.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from langgraph.store.base import BaseStore, GetOp, ListNamespacesOp, MatchCondition

from langmem_ext.long_term.forgetting import overlay_stats
from langmem_ext.long_term.schemas import MemoryBase, memory_kinds, utcnow
from langmem_ext.service import _scope as S
from langmem_ext.service._drive import Batch, Op_, optional_call
from langmem_ext.service._records import is_memory_label
from langmem_ext.service._stats import (
    MEMORY_NUMBERS,
    MEMORY_TIMES,
    STATS_NUMBERS,
    STATS_TIMES,
    finish,
    overlay_of,
    overlay_row,
    row_from_numbers,
    row_of,
    tally,
    user_stats,
)
from langmem_ext.service.views import MemoryView, UserSummary

__all__ = ["OverviewOps"]


class OverviewOps:
    """``list_users_op``, ``user_summary_op`` and ``stats_op`` (mixed into ``ServiceCore``)."""

    store: BaseStore
    """Set by the service (the operations yield from long-term memory's operations, which take it)."""
    scope: S.Scope
    forget_threshold: float

    if TYPE_CHECKING:
        @property
        def half_life(self) -> timedelta: ...

        def _view(self, memory: MemoryBase, user_id: str, now: datetime, *, with_history: bool = False) -> MemoryView: ...

        @staticmethod
        def _memories(items: Sequence[Any], wanted: set[tuple[str, ...]] | None = None) -> list[MemoryBase]: ...

        def _read_all(self, prefixes: Sequence[tuple[str, ...]]) -> Op_: ...

    def list_users_op(self, *, limit: int, offset: int) -> Op_:
        S.check_count(limit, "limit", maximum=10_000)
        S.check_count(offset, "offset", minimum=0, maximum=10**7)
        counts = yield from optional_call(self.store, "count_namespaces", self.scope.root, depth=len(self.scope.root) + 2)
        if counts is None:
            counts = yield from self._count_generic()
        users = self._summaries(counts)
        ordered = sorted(users.values(), key=lambda s: (-(s.last_activity.timestamp() if s.last_activity else 0), s.user_id))
        return ordered[offset: offset + limit]

    def user_summary_op(self, user_id: str) -> Op_:
        user_id = S.check_user(user_id)
        counts = yield from optional_call(self.store, "count_namespaces", self.scope.user_ns(user_id),
                                          depth=len(self.scope.root) + 2)
        if counts is None:
            counts = yield from self._count_generic(self.scope.user_ns(user_id))
        return self._summaries(counts).get(user_id) or UserSummary(
            user_id=user_id, counts={}, total=0, internal=0, last_activity=None)

    def _summaries(self, counts: Sequence[Any]) -> dict[str, UserSummary]:
        """Namespace counts folded into one :class:`UserSummary` per user."""
        users: dict[str, UserSummary] = {}
        for c in counts:
            parts = self.scope.split(c.namespace)
            if parts is None:
                continue
            user, label = parts
            s = users.setdefault(user, UserSummary(user_id=user, counts={}, total=0, internal=0, last_activity=None))
            if is_memory_label(label):
                s.counts[label] = s.counts.get(label, 0) + c.items
                s.total += c.items
            else:
                s.internal += c.items
            if c.updated_at is not None and (s.last_activity is None or c.updated_at > s.last_activity):
                s.last_activity = c.updated_at
        return users

    def _count_generic(self, prefix: tuple[str, ...] | None = None) -> Op_:
        from langmem_ext.store._namespaces import NamespaceCount

        prefix = prefix or self.scope.root
        (namespaces,) = yield Batch([ListNamespacesOp(match_conditions=(MatchCondition("prefix", prefix),),
                                                      limit=1_000_000)])
        namespaces = [tuple(ns) for ns in namespaces if tuple(ns[: len(prefix)]) == prefix]
        items = yield from self._read_all(namespaces)
        out = []
        for ns, found in items.items():
            own = [i for i in found if tuple(i.namespace) == ns]
            if own:  # InMemoryStore lists a namespace whose items were all deleted
                out.append(NamespaceCount(ns, len(own), max(i.updated_at for i in own)))
        return out

    def stats_op(self, user_id: str, *, top: int = 10, now: datetime | None = None) -> Op_:
        """Statistics from a few numbers per memory (``store.numbers``), without reading the memories.

        Only the memories the two lists show are read whole; a store without ``numbers()``
        is read whole instead (:meth:`_stats_read_all`, the same figures).
        """
        user_id = S.check_user(user_id)
        S.check_count(top, "top", maximum=S.MAX_SEARCH)
        now = now or utcnow()
        kinds = list(memory_kinds())
        found: list[tuple[str, bool, list[Any]]] = []
        for kind in kinds:
            for active in (True, False):
                got = yield from optional_call(self.store, "numbers", self.scope.kind_ns(user_id, kind), MEMORY_NUMBERS,
                                              times=MEMORY_TIMES,
                                              filter={"status": "active"} if active else {"status": {"$ne": "active"}})
                if got is None:
                    return (yield from self._stats_read_all(user_id, top=top, now=now))
                found.append((kind, active, got))
        sidecars = yield from optional_call(self.store, "numbers", self.scope.stats_ns(user_id), STATS_NUMBERS,
                                            times=STATS_TIMES)
        overlays = {r.key: overlay_of(r) for r in sidecars if r.complete}
        stale = [r.key for r in sidecars if not r.complete]  # written before numbers were stored: read them
        if stale:
            values = yield Batch([GetOp(self.scope.stats_ns(user_id), k, refresh_ttl=False) for k in stale])
            overlays.update({k: overlay_of(v.value) for k, v in zip(stale, values) if v is not None})
        rows, unread = [], []
        for kind, active, got in found:
            for numbers in got:
                row = row_from_numbers(kind, active, numbers)
                if row is None:
                    unread.append((kind, numbers.key))
                else:
                    rows.append(overlay_row(row, overlays.get(row.id)))
        if unread:
            items = yield Batch([GetOp(self.scope.kind_ns(user_id, k), key) for k, key in unread])
            for m in self._memories([i for i in items if i is not None]):
                rows.append(overlay_row(row_of(m), overlays.get(m.id)))
        t = tally(rows, now=now, threshold=self.forget_threshold, half_life=self.half_life, top=top, kinds=kinds)
        shown = list(dict.fromkeys([(k, i) for i, k in t.forget_next] + [(k, i) for i, k in t.most_recalled]))
        got_items = yield Batch([GetOp(self.scope.kind_ns(user_id, k), i) for k, i in shown]
                                + [GetOp(self.scope.stats_ns(user_id), i, refresh_ttl=False) for _, i in shown])
        views: dict[str, MemoryView] = {}
        for (_, i), item, stats in zip(shown, got_items[: len(shown)], got_items[len(shown):]):
            for m in self._memories([item] if item is not None else []):
                views[i] = self._view(overlay_stats(m, stats.value if stats is not None else None), user_id, now)
        return finish(user_id, t, views.get, threshold=self.forget_threshold, half_life=self.half_life)

    def _stats_read_all(self, user_id: str, *, top: int = 10, now: datetime | None = None) -> Op_:
        """:meth:`stats_op` by reading every memory and its access statistics (any store)."""
        kinds = list(memory_kinds())
        found = yield from self._read_all([self.scope.kind_ns(user_id, k) for k in kinds] + [self.scope.stats_ns(user_id)])
        stats = {i.key: i.value for i in found[self.scope.stats_ns(user_id)]}
        memories = [overlay_stats(m, stats.get(m.id)) for k in kinds
                    for m in self._memories(found[self.scope.kind_ns(user_id, k)], {self.scope.kind_ns(user_id, k)})]
        return user_stats(user_id, memories, now=now or utcnow(), threshold=self.forget_threshold,
                          half_life=self.half_life, top=top)
