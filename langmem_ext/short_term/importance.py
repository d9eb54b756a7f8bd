"""Importance-filtered context: score each message once, then fill a token budget.

Scorers rate messages 1-10: :class:`HeuristicScorer` (offline), :class:`LLMScorer`
(structured output, batched), or any ``fn(message) -> float``. :func:`build_context`
keeps system + running summary + the last K turns, then adds the highest-scoring older
units (optionally boosted by relevance to the latest user message), in chronological
order, tool groups whole, starting on a human message.

This module holds the relevance boost, :func:`build_context` and the checked options
(:func:`importance_filter`); the scorers are written in
:mod:`langmem_ext.short_term._scorers` and imported from here.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> scorer = HeuristicScorer()
    >>> msgs = [HumanMessage("ok"), HumanMessage("My sister Maria lives in Porto since 2019.")]
    >>> low, high = scorer.score(msgs)
    >>> low < high
    True
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from typing import Any, Literal

import numpy as np
from langchain_core.messages import BaseMessage, SystemMessage
from typing_extensions import TypedDict

from langmem_ext._options import check_non_negative, check_positive, deprecated_options
from langmem_ext.messages import message_key, message_text
from langmem_ext.short_term._cache import LRUCache
# The scorers live in their own module; this module stays their public home.
from langmem_ext.short_term._scorers import (
    HeuristicScorer,
    ImportanceScores,
    LLMScorer,
    MessageScore,
    _embed,
    _terms,
    as_scorer,
    read_scores,
    scores_schema,
)
from langmem_ext.short_term.counting import MessageTokenCounter, TokenCounterLike, as_counter
from langmem_ext.short_term.messages import group_units, split_head
from langmem_ext.short_term.trim import ContextBudgetError, select_suffix

__all__ = [
    "HeuristicScorer",
    "ImportanceFilter",
    "ImportanceOptions",
    "ImportanceScores",
    "LLMScorer",
    "MessageScore",
    "Relevance",
    "as_scorer",
    "build_context",
    "importance_filter",
    "read_scores",
    "scores_schema",
]

Relevance = Literal["none", "lexical", "embedding"]
Embed = Callable[[list[str]], Sequence[Sequence[float]]]


@lru_cache(maxsize=65_536)
def _term_set(text: str) -> frozenset[str]:
    """Content words of ``text`` (cached: a turn re-reads the same history)."""
    return frozenset(_terms(text))


_DF_CACHE: list[tuple[tuple[str, ...], Counter[str]]] = []
_DF_LOCK = threading.Lock()


def _document_frequencies(
    texts: tuple[str, ...], docs: Sequence[frozenset[str]], terms: frozenset[str]
) -> dict[str, int]:
    """Document frequencies of ``terms`` over ``docs``; the full counts are extended from a
    cached prefix when the history grew (read under the lock: entries change in place)."""
    with _DF_LOCK:
        best = max((e for e in _DF_CACHE if len(e[0]) <= len(texts) and texts[: len(e[0])] == e[0]),
                   key=lambda e: len(e[0]), default=None)
        if best is not None and len(best[0]) == len(texts):
            return {t: best[1][t] for t in terms}
        if best is not None:  # the history grew: extend that entry in place (it is replaced)
            _DF_CACHE.remove(best)
            df = best[1]
            df.update(chain.from_iterable(docs[len(best[0]) :]))
        else:
            df = Counter(chain.from_iterable(docs))
        _DF_CACHE.append((texts, df))
        del _DF_CACHE[:-8]
        return {t: df[t] for t in terms}


def _relevance(
    texts: Sequence[str],
    query: str,
    mode: Relevance,
    embed: Any,
    cache: MutableMapping[str, Any] | None,
) -> list[float]:
    """Relevance in [0, 1] of each text to ``query``."""
    if mode == "none" or not query.strip():
        return [0.0] * len(texts)
    if mode == "embedding":
        if embed is None:
            raise ValueError("relevance='embedding' needs embed= (e.g. langmem_ext.embeddings.MiniLMEmbeddings()).")
        cache = {} if cache is None else cache
        vectors = {t: v for t in dict.fromkeys(texts) if (v := cache.get(t)) is not None}  # the cache is bounded
        todo = [t for t in dict.fromkeys(texts) if t not in vectors]
        if todo:
            for t, v in zip(todo, _embed(embed, todo)):
                vectors[t] = cache[t] = v
        q = _embed(embed, [query])[0]
        if not texts:
            return []
        matrix = np.stack([np.asarray(vectors[t], dtype=np.float32) for t in texts])
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(q) or 1.0)
        sims = matrix @ q / np.where(norms == 0, 1.0, norms)
        return [max(0.0, float(x)) for x in sims]
    docs = [_term_set(t) for t in texts]
    n = len(docs) + 1
    q_terms = _term_set(query)
    df = _document_frequencies(tuple(texts), docs, q_terms)
    idf = {t: math.log(1 + n / (1 + df[t])) for t in q_terms}
    total = sum(idf.values()) or 1.0
    weight = idf.__getitem__
    return [sum(map(weight, q_terms & d)) / total if d else 0.0 for d in docs]


def build_context(
    messages: Sequence[BaseMessage],
    *,
    scores: Mapping[str, float],
    max_tokens: int,
    keep_last_turns: int = 2,
    token_counter: MessageTokenCounter | TokenCounterLike | None = None,
    tokenizer_model: str | None = None,
    relevance: Relevance = "none",
    query: str | None = None,
    relevance_weight: float = 0.5,
    embed: Any = None,
    embedding_cache: MutableMapping[str, Any] | None = None,
    default_score: float = 5.0,
    **deprecated: Any,
) -> list[BaseMessage]:
    """Model input within ``max_tokens``: head, the best older units, the last turns.

    Args:
        messages: the history, oldest first (system and summary messages first).
        scores: importance by :func:`~langmem_ext.messages.message_key`.
        max_tokens: budget for the whole input.
        keep_last_turns: recent turns always kept (trimmed like :func:`trim_history` if over budget).
        relevance: boost older units by their relevance to ``query`` (default: the latest
            human message): ``lexical`` (IDF-weighted term overlap) or ``embedding``.
        relevance_weight: a fully relevant message gains ``relevance_weight * 10`` points.
        default_score: score of a message missing from ``scores``.

    Raises:
        ContextBudgetError: the system messages or the latest human message do not fit.
    """
    tokenizer_model = deprecated_options("build_context", deprecated, {"model": "tokenizer_model"},
                                         tokenizer_model=tokenizer_model)["tokenizer_model"]
    check_positive("build_context", max_tokens=max_tokens, keep_last_turns=keep_last_turns)
    check_non_negative("build_context", relevance_weight=relevance_weight)
    counter = as_counter(token_counter, tokenizer_model=tokenizer_model)
    head, rest = split_head(messages)
    budget = max_tokens - sum(counter.count_message(m) for m in head) - counter.reply_priming
    if budget < 0:
        raise ContextBudgetError(f"The system messages alone exceed max_tokens={max_tokens}: raise it.")
    units = [u for u in group_units(rest) if u.kind in ("human", "ai", "tool_group", "other") and u.complete]
    humans = [k for k, u in enumerate(units) if u.kind == "human"]
    if not humans:
        return list(head)
    cut = humans[-keep_last_turns] if keep_last_turns <= len(humans) else humans[0]
    count = counter.count_message
    cost: list[int] = []
    best: list[float] = []  # importance of a unit: its best message
    texts: list[str] = []
    for unit in units:
        members = [rest[i] for i in unit.indices]
        cost.append(sum(count(m) for m in members) if len(members) > 1 else count(members[0]))
        best.append(max(scores.get(m.id or message_key(m), default_score) for m in members))
        texts.append(message_text(members[0]) if len(members) == 1 else "\n".join(message_text(m) for m in members))
    recent_cost = sum(cost[cut:])
    if recent_cost > budget:
        picked = select_suffix(rest, units[cut:], budget, counter)
        if picked is None:
            raise ContextBudgetError(
                f"The latest human message does not fit the {budget} tokens left of max_tokens={max_tokens}: raise it."
            )
        return [*head, *(rest[i] for u in picked[0] for i in u.indices)]
    left = budget - recent_cost
    older = list(range(cut))
    q = query if query is not None else texts[humans[-1]]
    rel = _relevance(texts[:cut], q, relevance, embed, embedding_cache)
    weight = relevance_weight * 10
    value = [best[k] + weight * rel[k] for k in older]
    ranked = sorted(older, key=lambda k: (-value[k], -k))
    chosen: set[int] = set()
    floor = -1
    while True:
        for k in ranked:
            if k not in chosen and k > floor and cost[k] <= left:
                chosen.add(k)
                left -= cost[k]
        first = min(chosen, default=None)
        if first is None or units[first].kind == "human":
            break
        chosen.discard(first)
        left += cost[first]
        floor = first
    kept = sorted(chosen) + list(range(cut, len(units)))
    return [*head, *(rest[i] for k in kept for i in units[k].indices)]


class ImportanceOptions(TypedDict, total=False):
    """The keywords of ``ImportanceFilterNode`` and ``ImportanceFilterMiddleware`` (see :func:`importance_filter`)."""

    max_tokens: int
    """Budget of the model input (required)."""
    scorer: Any
    """:class:`HeuristicScorer` (default), :class:`LLMScorer`, or ``fn(message) -> float``."""
    keep_last_turns: int
    """Recent turns always kept (2)."""
    relevance: Relevance
    """``"none"``, ``"lexical"`` or ``"embedding"`` (needs ``embed``)."""
    relevance_weight: float
    """A fully relevant message gains ``relevance_weight * 10`` points (0.5)."""
    embed: Any
    """Embeddings for relevance (e.g. ``MiniLMEmbeddings()``)."""
    embedding_cache_size: int
    """Texts whose embedding is kept for the next turns (least recently used dropped first; 10,000)."""
    tokenizer_model: str | None
    """Model name for the tokenizer (default ``gpt-4o-mini``; ``model`` is its deprecated name)."""
    token_counter: MessageTokenCounter | TokenCounterLike | None
    """A :class:`MessageTokenCounter` or LangChain-style counter instead of ``tokenizer_model``."""


@dataclass
class ImportanceFilter:
    """Checked importance-filter options and the two steps that use them (built by :func:`importance_filter`).

    :meth:`score_new` scores the messages missing from the score cache (the only step
    that may call a model); :meth:`view` builds the budgeted model input.

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage
        >>> f = importance_filter(max_tokens=200)
        >>> msgs = [HumanMessage("My sister Maria lives in Porto.", id="1"), AIMessage("Nice!", id="2")]
        >>> scores = f.score_new(msgs, known={"2": 1.0})
        >>> list(scores), [m.id for m in f.view(msgs, scores)]
        (['1'], ['1', '2'])
    """

    max_tokens: int
    scorer: Any
    counter: MessageTokenCounter
    keep_last_turns: int = 2
    relevance: Relevance = "none"
    relevance_weight: float = 0.5
    embed: Any = None
    embedding_cache: MutableMapping[str, Any] = field(default_factory=lambda: LRUCache(10_000))

    @staticmethod
    def _unscored(messages: Sequence[BaseMessage], known: Mapping[str, float]) -> tuple[list[BaseMessage], list[BaseMessage]]:
        new = [i for i, m in enumerate(messages) if message_key(m) not in known and not isinstance(m, SystemMessage)]
        return [messages[i] for i in new], list(messages[: new[0]]) if new else []

    def score_new(self, messages: Sequence[BaseMessage], known: Mapping[str, float]) -> dict[str, float]:
        """Scores of the messages not in ``known``, by message key (history: what precedes them)."""
        new, history = self._unscored(messages, known)
        return dict(zip(map(message_key, new), self.scorer.score(new, history=history))) if new else {}

    async def ascore_new(self, messages: Sequence[BaseMessage], known: Mapping[str, float]) -> dict[str, float]:
        """Async :meth:`score_new`."""
        new, history = self._unscored(messages, known)
        return dict(zip(map(message_key, new), await self.scorer.ascore(new, history=history))) if new else {}

    def view(self, messages: Sequence[BaseMessage], scores: Mapping[str, float]) -> list[BaseMessage]:
        """:func:`build_context` with these options."""
        return build_context(
            messages, scores=scores, max_tokens=self.max_tokens, keep_last_turns=self.keep_last_turns,
            token_counter=self.counter, relevance=self.relevance, relevance_weight=self.relevance_weight,
            embed=self.embed, embedding_cache=self.embedding_cache,
        )


def importance_filter(
    *,
    max_tokens: int,
    scorer: Any = None,
    keep_last_turns: int = 2,
    relevance: Relevance = "none",
    relevance_weight: float = 0.5,
    embed: Any = None,
    embedding_cache_size: int = 10_000,
    tokenizer_model: str | None = None,
    token_counter: MessageTokenCounter | TokenCounterLike | None = None,
    owner: str = "importance_filter",
    **deprecated: Any,
) -> ImportanceFilter:
    """Check the importance-filter options once (see :class:`ImportanceOptions`).

    Raises:
        ValueError: a budget <= 0, a negative weight, an unknown ``relevance``, or
            ``"embedding"`` without ``embed``; the message starts with ``owner``.
    """
    tokenizer_model = deprecated_options(owner, deprecated, {"model": "tokenizer_model"},
                                         tokenizer_model=tokenizer_model)["tokenizer_model"]
    check_positive(owner, max_tokens=max_tokens, keep_last_turns=keep_last_turns,
                   embedding_cache_size=embedding_cache_size)
    check_non_negative(owner, relevance_weight=relevance_weight)
    if relevance not in ("none", "lexical", "embedding"):
        raise ValueError(f"{owner}: relevance must be 'none', 'lexical' or 'embedding', got {relevance!r}.")
    if relevance == "embedding" and embed is None:
        raise ValueError(f"{owner}: relevance='embedding' needs embed= (e.g. langmem_ext.embeddings.MiniLMEmbeddings()).")
    return ImportanceFilter(max_tokens, as_scorer(scorer), as_counter(token_counter, tokenizer_model=tokenizer_model),
                            keep_last_turns, relevance, relevance_weight, embed, LRUCache(embedding_cache_size))
