"""RecallNode: find, rank and inject the memories relevant to the conversation.

Ranking is pure and configurable: each candidate gets

``score = w_rel * relevance + w_rec * recency + w_imp * importance + w_str * strength``

with every component normalised to [0, 1]: relevance comes from the retrieval
recipe of :mod:`~langmem_ext.long_term.retrieval` (``mode``): ``"hybrid"`` (the
default) fuses the BM25 and vector rankings by z-score, passes a share of a strong
episode's score to the episodes next to it in time and gives a little to every memory
of a session that matches in several places (the LoCoMo recipe of docs/recall.md);
``"hybrid+time"`` also favours dated memories for *when* questions; ``"vector"`` is the
store's similarity alone, ``"text"`` BM25 alone. Two rules keep hybrid from lifting chat
episodes over facts: an episode drawn only from messages the node was given is left out
(it repeats the context), and an episode a closed fact was drawn from ranks like that
closed fact and is marked ``(superseded)`` ("I live in Lisbon" below "User lives in
Porto"). On stores without BM25 search
(``InMemoryStore``, any other ``BaseStore``) the hybrid modes use the vector list
alone. The score is min-max normalised over the candidates (the best of all
queries that found it); recency decays exponentially with the time since the
memory was last written (``recency_half_life``); importance is ``(i - 1) / 9``;
strength is the forgetting-curve strength (:mod:`~langmem_ext.long_term.forgetting`).
Facts that are no longer true keep half their score and are labelled so.

Selection applies per-kind quotas and a token budget (counted with
:mod:`langmem_ext.tokens`), then the memories are rendered as ONE delimited
block (``<memories>`` … ``</memories>``), each memory a quoted, escaped string:
data, never instructions. Procedural rules learnt from the user's own feedback
are rendered after it as rules (:func:`~langmem_ext.long_term.procedural.render_rules`).
Recalled memories are reinforced (access statistics written in one batch to
the sidecar namespace, so nothing is re-embedded).

Example:
    >>> from datetime import datetime, timezone
    >>> from langmem_ext.long_term.schemas import SemanticMemory
    >>> now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    >>> a = Candidate(SemanticMemory(content="likes tea", updated_at=now), ("m",), 0.9)
    >>> b = Candidate(SemanticMemory(content="likes jazz", updated_at=now, importance=9), ("m",), 0.5)
    >>> [c.memory.content for _, c in rank_candidates([a, b], now=now)]
    ['likes tea', 'likes jazz']
    >>> [c.memory.content for _, c in rank_candidates([a, b], now=now, weights=RankWeights(relevance=0, importance=1))]
    ['likes jazz', 'likes tea']
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore, GetOp, SearchOp

from langmem_ext._options import check_fraction, check_non_negative, check_positive, deprecated_options, warn_deprecated
from langmem_ext.contract import HISTORY_KEY, MODEL_INPUT_KEY, MemoryNode, run_config
from langmem_ext.long_term.forgetting import (
    STATS_NAMESPACE,
    StatsBuffer,
    overlay_stats,
    stats_ops,
)
from langmem_ext.long_term.namespaces import DEFAULT_NAMESPACES, resolve_namespace
from langmem_ext.long_term.procedural import render_rules
from langmem_ext.long_term.ranking import (
    MEMORY_BLOCK_ID,
    Candidate,
    RankWeights,
    normalise,
    rank_candidates,
    recency_score,
    render_memory_block,
    select_within_budget,
    superseded_episodes,
)
from langmem_ext.long_term._io import Batch, Gen, resolve_store, run_async, run_sync, supports_text_search
from langmem_ext.long_term.retrieval import RecallMode, fuse_results, list_names
from langmem_ext.long_term.schemas import MemoryBase, ProceduralMemory, from_value, memory_kinds, utcnow
from langmem_ext.long_term.writer import namespace_generation
from langmem_ext.messages import build_queries, message_key, message_text
from langmem_ext.short_term.messages import SUMMARY_MESSAGE_ID

__all__ = ["RecallNode", "RecallResult", "with_memory_block"]

logger = logging.getLogger(__name__)


@dataclass
class RecallResult:
    """What one recall found."""

    memories: list[MemoryBase] = field(default_factory=list)
    rules: list[ProceduralMemory] = field(default_factory=list)
    text: str = ""
    """The memory block followed by the rules block ('' when nothing was found)."""
    queries: list[str] = field(default_factory=list)


class RecallNode(MemoryNode):
    """Recall relevant memories and put them in front of the model (see module docstring).

    The block joins the leading system content of the model input (after the thread's
    system messages, before the running summary); the thread's ``messages`` are never
    written. Queries are drawn from what the node builds on: the model input an earlier
    node prepared this turn, else the history.

    Args:
        store: Store to use instead of the graph's.
        kinds: Kinds searched by relevance (procedural rules come with ``include_rules``).
        namespaces: Namespace template per kind (default ``("memories", "{user_id}", kind)``).
        include_rules: Render the user's active procedural rules after the memories.
        max_rules: Most rules rendered (most important first).
        quotas: Most memories per kind (default semantic 6, episodic 3).
        max_tokens: The most tokens of the memory block it outputs (rules included).
        tokenizer_model: Model name whose tokenizer counts tokens (default cl100k-style;
            ``token_model=`` is its deprecated name).
        weights: Ranking weights.
        recency_half_life: Half-life of the recency component.
        strength_half_life: Half-life of memory strength (as in forgetting).
        recent_messages: How many recent messages the queries are drawn from.
        max_queries: Search queries per recall (the last user message comes first).
        per_query: Candidates fetched per query and kind.
        reinforce: Record the recall in the access statistics: ``"background"``
            (coalesced, written by a background thread at most every
            ``reinforce_interval`` seconds; :meth:`flush` / :meth:`aflush` write now),
            ``"inline"`` (one batched write before returning) or ``"off"``.
            Concurrent recalls in different processes may under-count
            ``access_count`` (last writer wins).
        reinforce_interval: Seconds between background statistics writes.
        rules_ttl: Seconds the user's rules are cached by this node (saves a round
            trip per recall). Writes through this package in this process
            invalidate the cache at once; writes by other processes show within
            ``rules_ttl``. 0 disables the cache.
        mode: How relevance is ranked: ``"hybrid"`` (default: BM25 + vector, z-score
            fused, with neighbour propagation between episodes), ``"vector"``,
            ``"hybrid+time"`` or ``"text"`` (see the module docstring). The hybrid modes
            fall back to vector on stores without BM25; ``"text"`` needs one with it.
        vector_weight: Weight of the vector ranking in the hybrid fusion (0..1).
        neighbor_weight: Share of an episode's fused score passed to the episodes
            within ``neighbor_window`` of it (hybrid modes; 0 turns it off).
        neighbor_window: How close in ``occurred_at`` episodes must be to be neighbours.
        search_scope: ``"auto"``: when every kind's namespace has the same parent
            (the default layout), ONE search per query over that parent serves all
            kinds; ``"per_kind"``: one search per query and kind.
        stats_namespace: Template of the access-statistics namespace.
        context_key: Also write the block's text to this state key (for a prompt of your
            own); ``output_key=`` is its deprecated name.
        input_messages_key: The history's key (``messages_key=`` is its deprecated name).
        output_messages_key: The model input's key; None writes only ``context_key``.
            ``output=`` is deprecated: the block never goes into the thread's messages.
        name: The node's name.
    """

    def __init__(
        self,
        *,
        store: BaseStore | None = None,
        kinds: Sequence[str] = ("semantic", "episodic"),
        namespaces: Mapping[str, Sequence[str]] | None = None,
        include_rules: bool = True,
        max_rules: int = 10,
        quotas: Mapping[str, int] | None = None,
        max_tokens: int = 800,
        tokenizer_model: str | None = None,
        weights: RankWeights = RankWeights(),
        recency_half_life: timedelta = timedelta(days=30),
        strength_half_life: timedelta = timedelta(days=30),
        recent_messages: int = 6,
        max_queries: int = 3,
        per_query: int = 8,
        reinforce: Literal["background", "inline", "off"] = "background",
        mode: RecallMode = "hybrid",
        vector_weight: float = 0.5,
        neighbor_weight: float = 0.2,
        neighbor_window: timedelta = timedelta(minutes=2),
        search_scope: Literal["auto", "per_kind"] = "auto",
        reinforce_interval: float = 1.0,
        rules_ttl: float = 5.0,
        stats_namespace: Sequence[str] = STATS_NAMESPACE,
        context_key: str | None = None,
        input_messages_key: str = HISTORY_KEY,
        output_messages_key: str | None = MODEL_INPUT_KEY,
        name: str = "recall",
        **deprecated: Any,
    ) -> None:
        owner = "RecallNode"
        output = deprecated.pop("output", None)
        opts = deprecated_options(
            owner, deprecated,
            {"token_model": "tokenizer_model", "messages_key": "input_messages_key", "output_key": "context_key"},
            tokenizer_model=tokenizer_model, input_messages_key=None if input_messages_key == HISTORY_KEY else input_messages_key,
            context_key=context_key,
        )
        tokenizer_model, context_key = opts["tokenizer_model"], opts["context_key"]
        input_messages_key = opts["input_messages_key"] or HISTORY_KEY
        if output is not None:
            output_messages_key, context_key = _legacy_output(output, output_messages_key, context_key)
        unknown = [k for k in kinds if k not in memory_kinds()]
        if unknown:
            raise ValueError(f"{owner}: unknown memory kinds {unknown}; known: {sorted(memory_kinds())}.")
        if reinforce not in ("background", "inline", "off"):
            raise ValueError(f"{owner}: reinforce must be 'background', 'inline' or 'off', got {reinforce!r}.")
        if mode not in ("vector", "text", "hybrid", "hybrid+time"):
            raise ValueError(f"{owner}: mode must be 'vector', 'text', 'hybrid' or 'hybrid+time', got {mode!r}.")
        check_fraction(owner, vector_weight=vector_weight)
        check_positive(owner, max_queries=max_queries, per_query=per_query, recent_messages=recent_messages,
                       recency_half_life=recency_half_life, strength_half_life=strength_half_life)
        check_non_negative(owner, max_rules=max_rules, neighbor_weight=neighbor_weight, neighbor_window=neighbor_window,
                           reinforce_interval=reinforce_interval, rules_ttl=rules_ttl,
                           **{f"quotas[{k!r}]": v for k, v in (quotas or {}).items()})
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 50:
            raise ValueError(f"{owner}: max_tokens (the memory block's budget) must be >= 50, got {max_tokens!r}.")
        if store is not None:
            list_names(mode, store)  # "text" on a store without BM25: fail now, not at the first turn
        if search_scope not in ("auto", "per_kind"):
            raise ValueError(f"{owner}: search_scope must be 'auto' or 'per_kind', got {search_scope!r}.")
        if output_messages_key is None and context_key is None:
            raise ValueError(f"{owner} would write nothing: give output_messages_key= (the model input) and/or context_key=.")
        templates = dict(namespaces or {})
        wanted = list(kinds) + (["procedural"] if include_rules else [])
        self.templates = {k: tuple(templates.get(k) or DEFAULT_NAMESPACES.get(k, ("memories", "{user_id}", k))) for k in wanted}
        self.kinds, self.include_rules, self.max_rules = list(kinds), include_rules, max_rules
        self.quotas = dict(quotas) if quotas is not None else {"semantic": 6, "episodic": 3}
        for k in self.kinds:
            self.quotas.setdefault(k, 3)
        self.max_tokens, self.tokenizer_model = max_tokens, tokenizer_model
        self.weights, self.recency_half_life, self.strength_half_life = weights, recency_half_life, strength_half_life
        self.recent_messages, self.max_queries, self.per_query = recent_messages, max_queries, per_query
        self.reinforce, self.stats_namespace = reinforce, tuple(stats_namespace)
        self.mode, self.vector_weight = mode, vector_weight
        self.neighbor_weight, self.neighbor_window = neighbor_weight, neighbor_window
        parents = {self.templates[k][:-1] for k in self.kinds}
        self.shared_parent = (
            next(iter(parents)) if search_scope == "auto" and len(parents) == 1 and next(iter(parents)) else None
        )
        self._buffer = StatsBuffer(interval=reinforce_interval, half_life=strength_half_life)
        self.rules_ttl = rules_ttl
        self._rules_cache: dict[tuple[int, tuple[str, ...]], tuple[int, float, list[ProceduralMemory]]] = {}
        self.context_key = context_key
        self.store = store
        super().__init__(self._node, self._anode, input_messages_key=input_messages_key,
                         output_messages_key=output_messages_key, name=name)

    def state_keys(self) -> dict[str, Any]:
        keys = super().state_keys()
        if self.context_key:
            keys[self.context_key] = str
        return keys

    # ---- pure steps ------------------------------------------------------------------------

    def _count(self, text: str) -> int:
        from langmem_ext.tokens import count_text_tokens

        return count_text_tokens(text, tokenizer_model=self.tokenizer_model)

    def queries(self, messages: Sequence[BaseMessage]) -> list[str]:
        """Queries from the recent messages; the last user message first."""
        recent = [m for m in messages if not isinstance(m, SystemMessage)][-self.recent_messages:]
        last = next((message_text(m).strip() for m in reversed(recent) if isinstance(m, HumanMessage)), "")
        out = [last[:500]] if last else []
        for q in build_queries(recent, max_queries=self.max_queries + 1):
            if len(out) >= self.max_queries:
                break
            if q.lower() not in {o.lower() for o in out} and q.lower() not in last.lower():
                out.append(q)
        return out

    def _cached_rules(self, store: BaseStore, namespaces: Mapping[str, tuple[str, ...]]) -> list[ProceduralMemory] | None:
        if not (self.include_rules and self.max_rules) or self.rules_ttl <= 0:
            return None
        ns = namespaces["procedural"]
        hit = self._rules_cache.get((id(store), ns))
        if hit is None or hit[0] != namespace_generation(store, ns) or time.monotonic() - hit[1] > self.rules_ttl:
            return None
        return hit[2]

    def _remember_rules(self, store: BaseStore, namespaces: Mapping[str, tuple[str, ...]], generation: int,
                        rules: list[ProceduralMemory]) -> None:
        if self.include_rules and self.max_rules and self.rules_ttl > 0:
            ns = namespaces["procedural"]
            if len(self._rules_cache) > 1000:
                self._rules_cache.clear()
            self._rules_cache[(id(store), ns)] = (generation, time.monotonic(), rules)

    def _search_ops(self, queries: Sequence[str], namespaces: Mapping[str, tuple[str, ...]], lists: Sequence[str],
                    with_rules: bool = True) -> tuple[list[SearchOp], list[tuple[str, str]]]:
        """The batch: one search per query, ranked list and kind (or shared parent); then the rules."""
        ops, layout = [], []
        for q in queries:
            for name in lists:
                if self.shared_parent is not None:
                    ops.append(SearchOp(namespaces[self.kinds[0]][:-1], query=q, limit=self.per_query * len(self.kinds)))
                    layout.append((q, name))
                else:
                    for k in self.kinds:
                        ops.append(SearchOp(namespaces[k], query=q, limit=self.per_query))
                        layout.append((q, name))
        if with_rules and self.include_rules and self.max_rules:
            ops.append(SearchOp(namespaces["procedural"], limit=max(self.max_rules * 3, 20)))
        return ops, layout

    def _lists(self, store: BaseStore) -> list[str]:
        return list_names(self.mode, store)

    def _relevance(self, results: Sequence[Any], layout: Sequence[tuple[str, str]],
                   wanted: set[tuple[str, ...]]) -> list[Any]:
        """Per query, its lists fused by the retrieval recipe (vector mode: the store's scores)."""
        per_query: dict[str, dict[str, list[Any]]] = {}
        for (query, name), items in zip(layout, results):
            kept = [it for it in items or [] if tuple(it.namespace) in wanted]
            per_query.setdefault(query, {}).setdefault(name, []).extend(kept)
        if self.mode == "vector":
            return [it for lists in per_query.values() for items in lists.values() for it in items]
        return [
            it
            for query, lists in per_query.items()
            for it in fuse_results(query, lists, mode=self.mode, vector_weight=self.vector_weight,
                                   neighbor_weight=self.neighbor_weight, neighbor_window=self.neighbor_window,
                                   neighbor_time="occurred_at", session_weight=0.0)
        ]  # no session prior: over a few short queries' candidates, mostly one per session, it only amplifies

    def _candidates(self, results: Sequence[Any], layout: Sequence[tuple[str, str]],
                    namespaces: Mapping[str, tuple[str, ...]], in_context: Collection[str] = (),
                    ) -> tuple[dict[str, Candidate], list[ProceduralMemory]]:
        """Candidates by key (best relevance of all queries) and the active rules.

        An episode drawn only from messages the model sees anyway (``in_context``: the keys of
        the messages given to the node) is left out: it would repeat them and take the place
        of what the thread does not hold.
        """
        found: dict[str, Candidate] = {}
        context = set(in_context)
        wanted = {namespaces[k] for k in self.kinds}
        n_search = len(layout)
        for item in self._relevance(results[:n_search], layout, wanted):
            try:
                memory = from_value(item.value, key=item.key)
            except ValueError:
                continue
            if memory.status != "active" or memory.kind not in self.kinds:
                continue
            sources = getattr(memory, "source_ids", None) or []
            if memory.kind == "episodic" and sources and context.issuperset(sources):
                continue
            score = getattr(item, "score", None)
            c = found.get(item.key)
            if c is None:
                found[item.key] = Candidate(memory, tuple(item.namespace), score)
            elif score is not None and (c.relevance is None or score > c.relevance):
                c.relevance = score
        rules: list[ProceduralMemory] = []
        for items in results[n_search:]:
            for item in items or []:
                try:
                    memory = from_value(item.value, key=item.key)
                except ValueError:
                    continue
                if isinstance(memory, ProceduralMemory) and memory.status == "active":
                    rules.append(memory)
        rules.sort(key=lambda r: (-r.importance, -r.updated_at.timestamp()))
        return found, rules[: self.max_rules]

    def _finish(self, found: Mapping[str, Candidate], stats: Sequence[Any], rules: list[ProceduralMemory],
                queries: list[str], now: datetime) -> RecallResult:
        for item in stats:
            if item is not None and item.key in found:
                c = found[item.key]
                c.memory = overlay_stats(c.memory, item.value)
        ranked = rank_candidates(list(found.values()), now=now, weights=self.weights,
                                 recency_half_life=self.recency_half_life, strength_half_life=self.strength_half_life)
        chosen = select_within_budget(ranked, quotas=self.quotas, max_tokens=self.max_tokens, count_tokens=self._count)
        memories = [c.memory for c in chosen]
        stale = superseded_episodes(list(found.values()))
        text = "\n\n".join(t for t in (render_memory_block(memories, superseded=stale), render_rules(rules)) if t)
        return RecallResult(memories=memories, rules=rules, text=text, queries=queries)

    def _update(self, history: Sequence[BaseMessage], source: Sequence[BaseMessage], result: RecallResult) -> dict[str, Any]:
        update: dict[str, Any] = {self.context_key: result.text} if self.context_key else {}
        if self.output_messages_key is not None:
            update.update(self.view_update(history, with_memory_block(source, result.text)))
        return update

    def _resolve_store(self, store: BaseStore | None) -> BaseStore:
        return resolve_store("RecallNode", store or self.store)

    # ---- I/O -------------------------------------------------------------------------------

    def _recall(self, messages: Sequence[BaseMessage], config: RunnableConfig | None, store: BaseStore) -> Gen[RecallResult]:
        namespaces = {k: resolve_namespace(t, config) for k, t in self.templates.items()}
        queries = self.queries(messages)
        cached = self._cached_rules(store, namespaces)
        generation = namespace_generation(store, namespaces["procedural"]) if "procedural" in namespaces else 0
        ops, layout = self._search_ops(queries, namespaces, self._lists(store), with_rules=cached is None)
        modes = dict(enumerate(name for _, name in layout)) if supports_text_search(store) else {}
        results = yield Batch(ops, modes)
        found, rules = self._candidates(results, layout, namespaces, {message_key(m) for m in messages})
        if cached is None:
            self._remember_rules(store, namespaces, generation, rules)
        else:
            rules = cached
        stats_ns = resolve_namespace(self.stats_namespace, config)
        stats = yield Batch([GetOp(stats_ns, key, refresh_ttl=False) for key in found])
        now = utcnow()
        result = self._finish(found, stats, rules, queries, now)
        if self.reinforce != "off" and result.memories:
            if self.reinforce == "inline":
                yield Batch(stats_ops(stats_ns, result.memories, now, half_life=self.strength_half_life))
            else:
                self._buffer.add(store, stats_ns, result.memories, now)
        return result

    def recall(self, messages: Sequence[BaseMessage], *, config: RunnableConfig | None = None,
               store: BaseStore | None = None) -> RecallResult:
        """Find, rank and render memories for ``messages``; reinforces what it returns."""
        store = self._resolve_store(store)
        return run_sync(store, self._recall(messages, config, store))

    async def arecall(self, messages: Sequence[BaseMessage], *, config: RunnableConfig | None = None,
                      store: BaseStore | None = None) -> RecallResult:
        """Async :meth:`recall`."""
        store = self._resolve_store(store)
        return await run_async(store, self._recall(messages, config, store))

    def flush(self) -> None:
        """Write the pending background reinforcement now."""
        self._buffer.flush()

    async def aflush(self) -> None:
        """Async :meth:`flush`."""
        await asyncio.to_thread(self._buffer.flush)

    def _node(self, state: Any, config: RunnableConfig) -> dict[str, Any]:
        history, source = self.source(state)
        return self._update(history, source, self.recall(source, config=run_config(config)))

    async def _anode(self, state: Any, config: RunnableConfig) -> dict[str, Any]:
        history, source = self.source(state)
        return self._update(history, source, await self.arecall(source, config=run_config(config)))


def with_memory_block(messages: Sequence[BaseMessage], text: str) -> list[BaseMessage]:
    """``messages`` with the memory block (``text``; '' for none) in the leading system content.

    It goes after the thread's own system messages and before the running summary, and
    replaces the block of an earlier recall (only one block, ever).

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> view = with_memory_block([SystemMessage("Be brief."), HumanMessage("hi")], "<memories>...</memories>")
        >>> [(m.type, m.id) for m in view]
        [('system', None), ('system', 'langmem-ext-recalled-memories'), ('human', None)]
        >>> with_memory_block(view, "") == view[::2]
        True
    """
    rest = [m for m in messages if m.id != MEMORY_BLOCK_ID]
    if not text:
        return rest
    k = 0
    while k < len(rest) and isinstance(rest[k], SystemMessage) and rest[k].id != SUMMARY_MESSAGE_ID:
        k += 1
    return [*rest[:k], SystemMessage(text, id=MEMORY_BLOCK_ID), *rest[k:]]


def _legacy_output(output: str, output_messages_key: str | None, context_key: str | None) -> tuple[str | None, str | None]:
    """``RecallNode(output=...)`` (deprecated) as the new options."""
    if output not in ("messages", "llm_input_messages", "key"):
        raise ValueError(f"RecallNode: output must be 'messages', 'llm_input_messages' or 'key', got {output!r}.")
    fix = {"messages": "drop output= (the block now goes to the model input, never into the thread's messages)",
           "llm_input_messages": "drop output= (it is the default)",
           "key": "use context_key='memory_context', output_messages_key=None"}[output]
    warn_deprecated(f"RecallNode(output={output!r}) is deprecated: {fix}.")
    if output == "key":
        return None, context_key or "memory_context"
    return output_messages_key, context_key
