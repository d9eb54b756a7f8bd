"""The service's operations: generators of requests (see :mod:`._drive`), shared by sync and async.

Nothing here does I/O. Each public operation validates its arguments first (so a bad
request writes nothing), then yields the reads and writes it needs.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.store.base import GetOp, SearchOp

from langmem_ext.limits import Limits
from langmem_ext.long_term.forgetting import forget_user_gen, overlay_stats
from langmem_ext.long_term.operations import Changes, plan_changes, record_change
from langmem_ext.long_term.procedural import render_rules
from langmem_ext.long_term.ranking import Candidate, RankWeights, score_parts
from langmem_ext.long_term.recall import RecallNode
from langmem_ext.long_term.reflection import ReflectionNode
from langmem_ext.long_term.schemas import MemoryBase, ProceduralMemory, from_value, memory_kinds, memory_text, utcnow
from langmem_ext.long_term.tools import is_near_duplicate
from langmem_ext.long_term.retrieval import recall_gen
from langmem_ext.long_term.writer import changes_gen, check_memory_size
from langmem_ext.service import _scope as S
from langmem_ext.service._drive import Batch, Op_, Twin, optional_call
from langmem_ext.service._overview import OverviewOps
from langmem_ext.service._records import is_memory_label, parse_import, record_of
from langmem_ext.service.errors import InvalidRequestError, LimitError, MemoryNotFoundError
from langmem_ext.service.views import (
    ExportResult,
    ForgetResult,
    ImportReport,
    MemoryPage,
    MemoryView,
    RecallContext,
    ReflectOutcome,
    Score,
    SearchHit,
    WriteResult,
)

__all__ = ["ServiceCore"]

_PAGE = 500
_DUPLICATE_THRESHOLD = 0.92


class ServiceCore(OverviewOps):
    """Options and operations shared by :class:`MemoryService` and :class:`AsyncMemoryService`."""

    def __init__(
        self,
        *,
        root: Sequence[str] = ("memories",),
        limits: Limits | None = None,
        recall_node: RecallNode | None = None,
        reflection_model: Any = None,
        forget_threshold: float = 0.05,
    ) -> None:
        self.scope = S.Scope(root)
        self.limits = limits if limits is not None else Limits()
        if recall_node is None:
            recall_node = RecallNode(namespaces=self.scope.templates(), stats_namespace=self.scope.template("access"),
                                     rules_ttl=0)
        else:
            expected = (*self.scope.root, "{user_id}")
            if any(t[: len(expected)] != expected for t in recall_node.templates.values()):
                raise ValueError(f"recall_node's namespaces must start with {expected!r} (the service's root).")
        self.recall_node = recall_node
        self._variants: dict[int, RecallNode] = {recall_node.max_tokens: recall_node}
        self._variants_lock = threading.Lock()
        self.reflection_node = ReflectionNode(
            model=reflection_model, namespaces=self.scope.templates(),
            cursor_namespace=self.scope.template("reflection_cursor"), limits=self.limits,
        )
        if not 0.0 <= forget_threshold <= 1.0:
            raise ValueError(f"forget_threshold must be within [0, 1], got {forget_threshold!r}.")
        self.forget_threshold = forget_threshold

    # ---------------------------------------------------------------- shared steps

    @property
    def half_life(self) -> timedelta:
        return self.recall_node.strength_half_life

    def _view(self, memory: MemoryBase, user_id: str, now: datetime, *, with_history: bool = False) -> MemoryView:
        return MemoryView.of(memory, user_id=user_id, now=now, half_life=self.half_life, with_history=with_history)

    def _with_stats(self, user_id: str, memories: list[MemoryBase]) -> Op_:
        """``memories`` with their access statistics overlaid (one batch)."""
        if not memories:
            return []
        ns = self.scope.stats_ns(user_id)
        stats = yield Batch([GetOp(ns, m.id, refresh_ttl=False) for m in memories])
        return [overlay_stats(m, s.value if s is not None else None) for m, s in zip(memories, stats)]

    def _find(self, user_id: str, memory_id: str) -> Op_:
        """(namespace, memory with statistics) of the user's memory ``memory_id``."""
        kinds = list(memory_kinds())
        found = yield Batch([GetOp(self.scope.kind_ns(user_id, k), memory_id) for k in kinds]
                            + [GetOp(self.scope.stats_ns(user_id), memory_id, refresh_ttl=False)])
        for kind, item in zip(kinds, found):
            if item is None:
                continue
            try:
                memory = from_value(item.value, key=item.key)
            except ValueError as exc:
                raise InvalidRequestError(f"Record {memory_id!r} of user {user_id!r} is not a readable memory: {exc}") from exc
            stats = found[-1]
            return self.scope.kind_ns(user_id, kind), overlay_stats(memory, stats.value if stats is not None else None)
        raise MemoryNotFoundError(
            f"No memory {memory_id!r} for user {user_id!r}; list or search this user's memories for their ids."
        )

    @staticmethod
    def _memories(items: Sequence[Any], wanted: set[tuple[str, ...]] | None = None) -> list[MemoryBase]:
        out = []
        for item in items:
            if wanted is not None and tuple(item.namespace) not in wanted:
                continue
            try:
                out.append(from_value(item.value, key=item.key))
            except ValueError:
                continue
        return out

    def _read_all(self, prefixes: Sequence[tuple[str, ...]]) -> Op_:
        """Every item under each prefix, paged (one batch per page round)."""
        out: dict[tuple[str, ...], list[Any]] = {p: [] for p in prefixes}
        offsets = {p: 0 for p in prefixes}
        while offsets:
            todo = list(offsets)
            pages = yield Batch([SearchOp(p, limit=_PAGE, offset=offsets[p]) for p in todo])
            for p, page in zip(todo, pages):
                out[p].extend(page)
                if len(page) < _PAGE:
                    del offsets[p]
                else:
                    offsets[p] += _PAGE
        return out

    def _recall_variant(self, max_tokens: int | None) -> RecallNode:
        if max_tokens is None:
            return self.recall_node
        S.check_count(max_tokens, "max_tokens", minimum=50, maximum=32_000)
        with self._variants_lock:
            node = self._variants.get(max_tokens)
            if node is None:
                if len(self._variants) > 32:
                    self._variants = {self.recall_node.max_tokens: self.recall_node}
                node = copy.copy(self.recall_node)
                node.max_tokens = max_tokens
                self._variants[max_tokens] = node
            return node

    # ---------------------------------------------------------------- reads

    def list_memories_op(self, user_id: str, *, kind: str | None, limit: int, cursor: str | None,
                         closed: bool | None = None, with_history: bool = False) -> Op_:
        user_id = S.check_user(user_id)
        if kind is not None:
            kind = S.check_kind(kind)
        S.check_count(limit, "limit", maximum=S.MAX_LIST)
        if closed not in (None, True, False):
            raise InvalidRequestError(f"closed must be true, false or None, got {closed!r}.")
        # Facts that are no longer true carry valid_to; the store's filter selects them (or the others).
        where = None if closed is None else {"valid_to": {"$ne": None}} if closed else {"valid_to": None}
        offset = S.decode_cursor(cursor, kind)
        prefix = self.scope.kind_ns(user_id, kind) if kind else self.scope.user_ns(user_id)
        wanted = {self.scope.kind_ns(user_id, k) for k in ([kind] if kind else memory_kinds())}
        found: list[MemoryBase] = []
        position, more = offset, True
        while more and len(found) < limit:
            chunk = min(_PAGE, limit - len(found) + 20)
            (page,) = yield Batch([SearchOp(prefix, filter=where, limit=chunk, offset=position)])
            more = len(page) == chunk
            for item in page:
                position += 1
                found += self._memories([item], wanted)
                if len(found) == limit:
                    more = more or item is not page[-1]
                    break
        memories = yield from self._with_stats(user_id, found)
        now = utcnow()
        return MemoryPage(memories=[self._view(m, user_id, now, with_history=with_history) for m in memories],
                          next_cursor=S.encode_cursor(position, kind) if more else None)

    def show_op(self, user_id: str, memory_id: str) -> Op_:
        user_id, memory_id = S.check_user(user_id), S.check_id(memory_id)
        _, memory = yield from self._find(user_id, memory_id)
        return self._view(memory, user_id, utcnow(), with_history=True)

    def search_op(self, user_id: str, query: str, *, kinds: Sequence[str] | None, limit: int,
                  include_archived: bool = False) -> Op_:
        user_id = S.check_user(user_id)
        query = S.check_query(query, self.limits)
        kinds = S.check_kinds(kinds)
        S.check_count(limit, "limit", maximum=S.MAX_SEARCH)
        node = self.recall_node
        prefix = self.scope.kind_ns(user_id, kinds[0]) if len(kinds) == 1 else self.scope.user_ns(user_id)
        depth = min(max(3 * limit, 24), 200)
        items = yield from recall_gen(self.store, prefix, query, mode=node.mode, limit=depth, depth=depth,
                                     vector_weight=node.vector_weight)
        wanted = {self.scope.kind_ns(user_id, k) for k in kinds}
        scores: dict[str, float | None] = {}
        memories: list[MemoryBase] = []
        for item in items:
            if tuple(item.namespace) not in wanted or item.key in scores:
                continue
            try:
                memory = from_value(item.value, key=item.key)
            except ValueError:
                continue
            if memory.status != "active" and not include_archived:
                continue
            scores[item.key] = item.score
            memories.append(memory)
        memories = yield from self._with_stats(user_id, memories)
        now = utcnow()
        candidates = [Candidate(m, (), scores[m.id]) for m in memories]
        parts = score_parts(candidates, now=now, weights=node.weights, recency_half_life=node.recency_half_life,
                            strength_half_life=node.strength_half_life)
        weights = _weights(node.weights)
        ranked = sorted(zip(parts, candidates), key=lambda pc: (-pc[0].score, -pc[1].memory.updated_at.timestamp()))
        # Every candidate is scored (relevance is normalised over them all); only the returned ones get a view.
        return [
            SearchHit(memory=self._view(c.memory, user_id, now),
                      score=Score(total=p.score, relevance=p.relevance, recency=p.recency, importance=p.importance,
                                  strength=p.strength, closed=p.closed, raw_relevance=c.relevance, weights=weights))
            for p, c in ranked[:limit]
        ]

    def recall_context_op(self, user_id: str, *, query: str | None, messages: Sequence[Any] | None,
                          max_tokens: int | None) -> Op_:
        user_id = S.check_user(user_id)
        if (query is None) == (messages is None):
            raise InvalidRequestError("Pass either query (a question) or messages (the conversation so far), not both.")
        msgs = [HumanMessage(S.check_query(query, self.limits))] if query is not None else S.to_messages(messages or [], limits=self.limits)
        node = self._recall_variant(max_tokens)
        result = yield from node._recall(msgs, self.scope.config(user_id), self.store)
        now = utcnow()
        return RecallContext(text=result.text, memories=[self._view(m, user_id, now) for m in result.memories],
                             rules=[self._view(r, user_id, now) for r in result.rules], queries=result.queries)

    def rules_op(self, user_id: str, *, limit: int = 50) -> Op_:
        user_id = S.check_user(user_id)
        (items,) = yield Batch([SearchOp(self.scope.kind_ns(user_id, "procedural"), limit=max(limit * 3, 50))])
        rules = [m for m in self._memories(items) if isinstance(m, ProceduralMemory) and m.status == "active"]
        rules.sort(key=lambda r: (-r.importance, -r.updated_at.timestamp()))
        return rules[:limit]

    def rules_prompt_op(self, user_id: str, *, base: str = "") -> Op_:
        rules = yield from self.rules_op(user_id)
        block = render_rules(rules)
        return f"{base}\n\n{block}" if base and block else (block or base)

    def recent_facts_op(self, user_id: str, *, limit: int) -> Op_:
        user_id = S.check_user(user_id)
        S.check_count(limit, "limit", maximum=S.MAX_SEARCH)
        (items,) = yield Batch([SearchOp(self.scope.kind_ns(user_id, "semantic"), limit=max(4 * limit, 100))])
        facts = [m for m in self._memories(items) if m.status == "active" and getattr(m, "valid_to", None) is None]
        facts.sort(key=lambda m: -m.updated_at.timestamp())
        facts = yield from self._with_stats(user_id, facts[:limit])
        now = utcnow()
        return [self._view(m, user_id, now) for m in facts]

    def export_op(self, user_id: str | None, *, memories_only: bool) -> Op_:
        prefix = self.scope.user_ns(S.check_user(user_id)) if user_id is not None else self.scope.root
        found = (yield from self._read_all([prefix]))[prefix]
        records, n_mem, n_int = [], 0, 0
        for item in found:
            parts = self.scope.split(item.namespace)
            if parts is None:
                continue
            memory = is_memory_label(parts[1])
            if memory:
                n_mem += 1
            elif memories_only:
                continue
            else:
                n_int += 1
            records.append(record_of(item))
        return ExportResult(records=records, memories=n_mem, internal=n_int)

    # ---------------------------------------------------------------- writes

    def add_op(self, user_id: str, *, kind: str, content: str | None, fields: Mapping[str, Any] | None,
               importance: int | None, reason: str) -> Op_:
        user_id, kind = S.check_user(user_id), S.check_kind(kind)
        data = S.memory_fields(kind, content=content, fields=fields, importance=importance)
        now = utcnow()
        memory = S.validated(memory_kinds()[kind], {**data, "created_at": now, "updated_at": now})
        memory = record_change(memory, op="insert", old=None, reason=reason, now=now, bump=False)
        _check_size(memory, self.limits)
        ns = self.scope.kind_ns(user_id, kind)
        text = memory_text(memory)
        (similar,) = yield Batch([SearchOp(ns, query=text[:500], limit=3)])
        for other in self._memories(similar):
            if other.status == "active" and getattr(other, "valid_to", None) is None and is_near_duplicate(
                text, memory_text(other), score=_score_of(similar, other.id), threshold=_DUPLICATE_THRESHOLD
            ):
                (other,) = yield from self._with_stats(user_id, [other])
                return WriteResult(memory=self._view(other, user_id, now), changed=False,
                                   note=f"Already known as memory {other.id}; nothing was written.")
        yield from changes_gen(self.store, Changes(inserts=[(ns, memory)]), limits=self.limits)
        return WriteResult(memory=self._view(memory, user_id, now), changed=True)

    def update_op(self, user_id: str, memory_id: str, *, content: str | None, fields: Mapping[str, Any] | None,
                  importance: int | None, reason: str) -> Op_:
        user_id, memory_id = S.check_user(user_id), S.check_id(memory_id)
        ns, current = yield from self._find(user_id, memory_id)
        data = S.memory_fields(current.kind, content=content, fields=fields, importance=importance)
        if not data:
            raise InvalidRequestError("Nothing to change: pass content, fields or importance.")
        _check_size(S.validated(type(current), {**current.model_dump(), **data}), self.limits)
        changes = plan_changes([{"action": "update", "id": memory_id, "kind": current.kind, "memory": data, "reason": reason}],
                               known={memory_id: (ns, current)}, namespaces={current.kind: ns})
        return (yield from self._mutated(user_id, memory_id, changes, "The memory already says that; nothing changed."))

    def pin_op(self, user_id: str, memory_id: str, *, pinned: bool) -> Op_:
        user_id, memory_id = S.check_user(user_id), S.check_id(memory_id)
        if not isinstance(pinned, bool):
            raise InvalidRequestError(f"pinned must be true or false, got {pinned!r}.")
        ns, _ = yield from self._find(user_id, memory_id)
        now = utcnow()

        def mutate(m: MemoryBase) -> MemoryBase | None:
            if m.pinned == pinned:
                return None
            return record_change(m.model_copy(update={"pinned": pinned}), op="update", old=memory_text(m),
                                 reason="pinned" if pinned else "unpinned", now=now)

        note = f"Already {'pinned' if pinned else 'not pinned'}; nothing changed."
        return (yield from self._mutated(user_id, memory_id, Changes(updates=[(ns, memory_id, mutate)]), note))

    def _mutated(self, user_id: str, memory_id: str, changes: Changes, unchanged: str) -> Op_:
        applied = yield from changes_gen(self.store, changes, limits=self.limits)
        ns, memory = yield from self._find(user_id, memory_id)  # also: NotFound if deleted meanwhile
        changed = memory_id in applied.updated
        return WriteResult(memory=self._view(memory, user_id, utcnow(), with_history=True), changed=changed,
                           note="" if changed else unchanged)

    def delete_op(self, user_id: str, memory_id: str) -> Op_:
        user_id, memory_id = S.check_user(user_id), S.check_id(memory_id)
        ns, memory = yield from self._find(user_id, memory_id)
        yield from changes_gen(self.store, Changes(deletes=[(ns, memory_id), (self.scope.stats_ns(user_id), memory_id)]),
                              limits=self.limits)
        return self._view(memory, user_id, utcnow())

    def forget_user_op(self, user_id: str) -> Op_:
        user_id = S.check_user(user_id)
        prefix = self.scope.user_ns(user_id)
        node = self.recall_node
        yield Twin(node.flush, node.aflush)  # pending statistics must not recreate records afterwards
        deleted = yield from forget_user_gen(self.store, prefix)
        left = yield from optional_call(self.store, "scan_namespace_prefix", prefix)
        how = "SCAN"
        if left is None:
            found = (yield from self._read_all([prefix]))[prefix]
            left, how = len(found), "search"
        return ForgetResult(user_id=user_id, deleted=int(deleted), remaining=int(left), verified_by=how)

    def import_op(self, lines: Sequence[str], *, source: str, user_id: str | None) -> Op_:
        if user_id is not None:
            user_id = S.check_user(user_id)
        plan = parse_import(lines, scope=self.scope, limits=self.limits, source=source, user_id=user_id)
        if plan.ops:
            yield Batch(plan.ops)
        return ImportReport(memories=plan.memories, internal=plan.internal, users=sorted(plan.users), filled=plan.filled)

    def reflect_op(self, user_id: str, messages: Sequence[Any], *, thread_id: str | None) -> Op_:
        user_id = S.check_user(user_id)
        if thread_id is not None:
            thread_id = S.check_id(thread_id)
        msgs = S.to_messages(messages, limits=self.limits)
        result = yield from self.reflection_node._reflect(msgs, self.scope.config(user_id, thread_id or "external"), self.store,
                                                   False)
        now = utcnow()
        applied = result.applied
        return ReflectOutcome(
            inserted=[self._view(applied.memories[k], user_id, now) for k in applied.inserted if k in applied.memories],
            updated=[self._view(applied.memories[k], user_id, now) for k in applied.updated if k in applied.memories],
            deleted=list(applied.deleted), messages=result.messages, offline=result.offline, skipped=result.skipped,
        )


def _weights(w: RankWeights) -> dict[str, float]:
    return {"relevance": w.relevance, "recency": w.recency, "importance": w.importance, "strength": w.strength}


def _score_of(items: Sequence[Any], key: str) -> float | None:
    return next((getattr(i, "score", None) for i in items if i.key == key), None)


def _check_size(memory: MemoryBase, limits: Limits) -> None:
    from langmem_ext.limits import LimitExceededError

    try:
        check_memory_size(memory, limits=limits)
    except LimitExceededError as exc:
        raise LimitError(f"The memory's text is {exc.size:,} bytes, over the limit of {exc.maximum:,} "
                         "(limits.memory_bytes): a memory should be one fact, episode or rule; split it. "
                         "Nothing was written.") from exc
