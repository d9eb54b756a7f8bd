"""Hybrid memory retrieval over any LangGraph store (its figures: docs/recall.md).

``recall(store, namespace_prefix, query, ...)`` asks the store for ranked candidates by
vector similarity and by BM25 in one round trip (``mode="vector" | "text"`` per search, as
:class:`langmem_ext.store.RedisStore` offers), then, with pure functions shared by the sync
and async paths and by :class:`~langmem_ext.long_term.RecallNode`:

1. **fuses** them: each list's scores become z-scores over its candidates (a candidate
   missing from a list gets that list's lowest z), then ``(1 - w) * text + w * vector``;
2. **propagates to neighbours**: a memory gains ``neighbor_weight`` times the (shifted,
   non-negative) fused score of the memories of the same namespace that occurred within
   ``neighbor_window`` of it, so the turn before or after a strong hit moves up (the
   answer to "what did X say about Y" is often the reply next to the question);
3. (``mode="hybrid+time"``) **handles time**: a question about *when* favours memories that
   state a date, and a question naming a month or year favours memories from then.

Example:
    >>> fused = fuse_scores({"text": [("a", 9.0), ("b", 3.0)], "vector": [("b", 0.9), ("c", 0.5)]},
    ...                     vector_weight=0.75)
    >>> {k: round(v, 2) for k, v in fused.items()}  # b is good in both lists
    {'a': -0.5, 'b': 0.5, 'c': -1.0}
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from langgraph.store.base import BaseStore, Op, Result, SearchItem, SearchOp

from langmem_ext.long_term._io import Batch, Gen, run_async, run_sync, supports_text_search

__all__ = [
    "RecallMode",
    "arecall",
    "asearch_batch",
    "fuse_results",
    "fuse_scores",
    "list_names",
    "propagate_neighbors",
    "query_time_hints",
    "recall",
    "search_batch",
    "session_prior",
    "supports_text_search",
    "time_boosts",
]

RecallMode = Literal["vector", "text", "hybrid", "hybrid+time"]
DEFAULT_NEIGHBOR_WEIGHT = 0.25
"""Share of a neighbour's score passed on in the hybrid modes (tuned on the LoCoMo dev split)."""
DEFAULT_SESSION_WEIGHT = 0.1
"""Weight of the session prior in the hybrid modes (tuned on the LoCoMo dev split)."""
_MODES = ("vector", "text", "hybrid", "hybrid+time")


def _z(pairs: Sequence[tuple[str, float]]) -> tuple[dict[str, float], float]:
    if not pairs:
        return {}, 0.0
    vals = [s for _, s in pairs]
    mu = sum(vals) / len(vals)
    sd = (sum((v - mu) ** 2 for v in vals) / len(vals)) ** 0.5 or 1.0
    z = {}
    for key, s in pairs:
        z.setdefault(key, (s - mu) / sd)
    return z, (min(vals) - mu) / sd


def fuse_scores(
    lists: Mapping[str, Sequence[tuple[str, float]]],
    *,
    vector_weight: float = 0.5,
) -> dict[str, float]:
    """Z-score fusion of ranked ``(key, score)`` lists named ``"text"`` and ``"vector"``.

    A single list is z-scored as is. Higher is better in every list.

    Raises:
        ValueError: ``vector_weight`` outside [0, 1] or an unknown list name.
    """
    if not 0.0 <= vector_weight <= 1.0:
        raise ValueError(f"vector_weight must be in [0, 1], got {vector_weight}")
    unknown = set(lists) - {"text", "vector"}
    if unknown:
        raise ValueError(f"fuse_scores takes lists named 'text' and 'vector', got {sorted(unknown)}")
    weights = {"text": 1.0 - vector_weight, "vector": vector_weight}
    if len(lists) == 1:
        weights = {name: 1.0 for name in lists}
    normed = {name: _z(pairs) for name, pairs in lists.items()}
    keys: dict[str, None] = {}
    for pairs in lists.values():
        keys.update((k, None) for k, _ in pairs)
    return {
        key: sum(weights[name] * z.get(key, floor) for name, (z, floor) in normed.items())
        for key in keys
    }


def propagate_neighbors(
    scores: Mapping[str, float],
    places: Mapping[str, tuple[tuple[str, ...], datetime]],
    *,
    weight: float,
    window: timedelta,
) -> dict[str, float]:
    """Add ``weight`` x the shifted scores of same-namespace memories within ``window``.

    Args:
        scores: Fused score per key.
        places: ``(namespace, occurred_at)`` per key; keys without one are left alone.
        weight: Share of a neighbour's score passed on (0 turns this off).
        window: Largest time distance between neighbours (inclusive).

    Example:
        >>> t0 = datetime(2023, 5, 8)
        >>> places = {k: (("c",), t0 + timedelta(minutes=i)) for i, k in enumerate("abc")}
        >>> propagate_neighbors({"a": 0.0, "b": 2.0, "c": 1.0}, places,
        ...                     weight=0.5, window=timedelta(minutes=1))
        {'a': 1.0, 'b': 2.5, 'c': 2.0}
    """
    if weight == 0 or not scores:
        return dict(scores)
    if weight < 0:
        raise ValueError(f"neighbor_weight must be >= 0, got {weight}")
    low = min(scores.values())
    shifted = {k: s - low for k, s in scores.items()}
    by_ns: dict[tuple[str, ...], list[tuple[datetime, str]]] = {}
    for key, (ns, when) in places.items():
        if key in scores:
            by_ns.setdefault(ns, []).append((when, key))
    out = dict(scores)
    for items in by_ns.values():
        items.sort()
        times = [t for t, _ in items]
        for i, (when, key) in enumerate(items):
            hi = bisect_right(times, when + window)
            j = i - 1
            gain = 0.0
            while j >= 0 and when - times[j] <= window:
                gain += shifted[items[j][1]]
                j -= 1
            for j in range(i + 1, hi):
                gain += shifted[items[j][1]]
            out[key] = scores[key] + weight * gain
    return out


def session_prior(
    scores: Mapping[str, float],
    places: Mapping[str, tuple[tuple[str, ...], datetime]],
    *,
    weight: float,
    gap: timedelta = timedelta(hours=1),
    top: int = 3,
) -> dict[str, float]:
    """Add ``weight`` x the z-scored strength of each memory's session to its score.

    A session is a run of same-namespace memories with no more than ``gap`` between
    consecutive ones; its strength is the sum of its ``top`` best (shifted) scores. A
    conversation that matches the question in several places is more likely the one the
    question is about, so each of its memories gains a little.

    Example:
        >>> t0 = datetime(2023, 5, 8)
        >>> places = {"a": (("c",), t0), "b": (("c",), t0 + timedelta(minutes=1)),
        ...           "c": (("c",), t0 + timedelta(days=9))}
        >>> {k: round(v, 2) for k, v in session_prior({"a": 2.0, "b": 1.5, "c": 1.0}, places, weight=0.5).items()}
        {'a': 2.5, 'b': 2.0, 'c': 0.5}
    """
    if weight == 0 or not scores:
        return dict(scores)
    if weight < 0:
        raise ValueError(f"session_weight must be >= 0, got {weight}")
    low = min(scores.values())
    by_ns: dict[tuple[str, ...], list[tuple[datetime, str]]] = {}
    for key, (ns, when) in places.items():
        if key in scores:
            by_ns.setdefault(ns, []).append((when, key))
    session_of: dict[str, int] = {}
    strength: list[float] = []
    for items in by_ns.values():
        items.sort()
        members: list[str] = []
        for i, (when, key) in enumerate(items):
            if i and when - items[i - 1][0] > gap:
                strength.append(sum(sorted((scores[k] - low for k in members), reverse=True)[:top]))
                members = []
            members.append(key)
            session_of[key] = len(strength)
        strength.append(sum(sorted((scores[k] - low for k in members), reverse=True)[:top]))
    if len(strength) < 2:
        return dict(scores)
    mu = sum(strength) / len(strength)
    sd = (sum((x - mu) ** 2 for x in strength) / len(strength)) ** 0.5 or 1.0
    return {k: v + (weight * (strength[session_of[k]] - mu) / sd if k in session_of else 0.0) for k, v in scores.items()}


_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]
_WHEN = re.compile(r"\bwhen\b|\bhow long\b|\bwhat (?:year|month|date|day|time)\b|\bhow many (?:years|months|weeks|days)\b", re.I)
_PERIOD = re.compile(
    r"\b(?:(?P<month>" + "|".join(_MONTHS) + r")\s*,?\s*)?(?P<year>(?:19|20)\d\d)\b", re.I
)
_DATED = re.compile(
    r"\(\d{4}-\d\d-\d\d\)|\b(?:" + "|".join(_MONTHS) + r")\b|\b(?:19|20)\d\d\b"
    r"|\b(?:yesterday|today|tomorrow|ago|last (?:week|month|year|weekend)|next (?:week|month|year))\b",
    re.I,
)


def query_time_hints(query: str) -> tuple[bool, list[tuple[int, int | None]]]:
    """Whether ``query`` asks *when*, and the ``(year, month or None)`` periods it names.

    >>> query_time_hints("When did Caroline move, in June 2023 or in 2022?")
    (True, [(2023, 6), (2022, None)])
    """
    periods = []
    for m in _PERIOD.finditer(query):
        month = _MONTHS.index(m.group("month").lower()) + 1 if m.group("month") else None
        periods.append((int(m.group("year")), month))
    return bool(_WHEN.search(query)), periods


def time_boosts(
    query: str,
    candidates: Mapping[str, tuple[str, datetime | None]],
) -> dict[str, float]:
    """Per candidate (``content``, ``occurred_at``): 1.0 per time signal it matches.

    A *when* question rewards content that states a date; a named period rewards memories
    that occurred in it.
    """
    asks_when, periods = query_time_hints(query)
    out: dict[str, float] = {}
    for key, (content, when) in candidates.items():
        boost = 0.0
        if asks_when and _DATED.search(content):
            boost += 1.0
        if when is not None and any(
            when.year == y and (m is None or when.month == m) for y, m in periods
        ):
            boost += 1.0
        if boost:
            out[key] = boost
    return out


def _when(value: Mapping[str, Any], fields: tuple[str, ...] = ("occurred_at", "valid_from")) -> datetime | None:
    raw = next((value[f] for f in fields if value.get(f)), None)
    if not isinstance(raw, str):
        return raw if isinstance(raw, datetime) else None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def list_names(mode: str, store: BaseStore) -> list[str]:
    """The ranked lists ``mode`` fuses on ``store`` (``"text"``, ``"vector"`` or both).

    Raises:
        ValueError: An unknown mode, or ``"text"`` on a store without BM25 search.
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    if mode == "vector":
        return ["vector"]
    if not supports_text_search(store):
        if mode == "text":
            raise ValueError(
                f"{type(store).__name__} has no text (BM25) search: use mode='vector' or 'hybrid' (which "
                "falls back to vector), or a langmem_ext.store.RedisStore, which searches by vector, text or both"
            )
        return ["vector"]
    return ["text"] if mode == "text" else ["text", "vector"]


def search_batch(store: BaseStore, ops: Sequence[Op], modes: Mapping[int, str]) -> list[Result]:
    """``store.batch(ops)`` with a ranking mode per search op (index -> mode), one round trip.

    Modes apply only on stores with :func:`supports_text_search`; elsewhere every search
    ranks as the store does (by vector), so pass ``"text"`` only after :func:`list_names`.
    """
    return run_sync(store, _searched(ops, modes))


async def asearch_batch(store: BaseStore, ops: Sequence[Op], modes: Mapping[int, str]) -> list[Result]:
    """Async :func:`search_batch`."""
    return await run_async(store, _searched(ops, modes))


def _searched(ops: Sequence[Op], modes: Mapping[int, str]) -> Gen[list[Result]]:
    return (yield Batch(list(ops), dict(modes)))


def _uid(item: SearchItem) -> str:
    return "\x1f".join(item.namespace) + "\x1e" + item.key


def fuse_results(
    query: str,
    found: Mapping[str, Sequence[SearchItem]],
    *,
    mode: RecallMode = "hybrid",
    vector_weight: float = 0.5,
    neighbor_weight: float | None = None,
    neighbor_window: timedelta = timedelta(minutes=2),
    time_weight: float = 0.5,
    neighbor_time: Literal["occurred_at", "occurred_or_valid"] = "occurred_or_valid",
    session_weight: float | None = None,
    session_gap: timedelta = timedelta(hours=1),
) -> list[SearchItem]:
    """Rank search results (``{"text": [...], "vector": [...]}``) by the recipe, best first.

    Pure: :func:`recall`, :func:`arecall` and ``RecallNode`` share it. Each result's
    ``score`` is the fused score; an item found in several lists appears once.

    Args:
        query: The query the lists answer (read for time hints).
        found: Search results per list name.
        mode: ``"hybrid+time"`` adds the time boosts; the other modes do not.
        vector_weight: Weight of the vector list in the fusion (0..1).
        neighbor_weight: Share of a neighbour's score passed on; default 0.25 in the
            hybrid modes, 0 otherwise.
        neighbor_window: How close in ``occurred_at`` (or ``valid_from``) neighbours are.
        time_weight: Boost per time signal in ``"hybrid+time"`` (z-score units).
        neighbor_time: The time that places a memory for neighbours: ``"occurred_at"``
            (episodes only) or ``"occurred_or_valid"`` (also facts' ``valid_from``).
        session_weight: Weight of the session prior (:func:`session_prior`); default 0.1 in
            the hybrid modes, 0 otherwise.
        session_gap: Largest pause within one session.
    """
    fields = ("occurred_at",) if neighbor_time == "occurred_at" else ("occurred_at", "valid_from")
    hybrid = mode.startswith("hybrid")
    weight = (DEFAULT_NEIGHBOR_WEIGHT if hybrid else 0.0) if neighbor_weight is None else neighbor_weight
    prior = (DEFAULT_SESSION_WEIGHT if hybrid else 0.0) if session_weight is None else session_weight
    items: dict[str, SearchItem] = {}
    lists: dict[str, list[tuple[str, float]]] = {}
    for name, hits in found.items():
        pairs = []
        for it in hits:
            uid = _uid(it)
            items.setdefault(uid, it)
            pairs.append((uid, float(it.score if it.score is not None else 0.0)))
        lists[name] = pairs
    scores = fuse_scores(lists, vector_weight=vector_weight)
    places = {}
    for uid, it in items.items():
        when = _when(it.value, fields)
        if when is not None:
            places[uid] = (tuple(it.namespace), when)
    scores = session_prior(scores, places, weight=prior, gap=session_gap)
    scores = propagate_neighbors(scores, places, weight=weight, window=neighbor_window)
    if mode == "hybrid+time" and time_weight:
        cands = {uid: (str(it.value.get("content", "")), _when(it.value)) for uid, it in items.items()}
        for uid, b in time_boosts(query, cands).items():
            scores[uid] += time_weight * b
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    return [
        SearchItem(
            namespace=tuple(items[uid].namespace),
            key=items[uid].key,
            value=items[uid].value,
            created_at=items[uid].created_at,
            updated_at=items[uid].updated_at,
            score=score,
        )
        for uid, score in ranked
    ]


def _plan(store: BaseStore, namespace_prefix: tuple[str, ...], query: str, *, mode: str, limit: int,
          depth: int, filter: dict[str, Any] | None) -> tuple[list[str], list[SearchOp]]:
    names = list_names(mode, store)
    if limit < 1 or depth < limit:
        raise ValueError(f"need 1 <= limit <= depth, got limit={limit}, depth={depth}")
    ops = [SearchOp(tuple(namespace_prefix), filter, depth, 0, query) for _ in names]
    return names, ops


def recall_gen(store: BaseStore, namespace_prefix: tuple[str, ...], query: str, *, limit: int = 10,
               mode: RecallMode = "hybrid", filter: dict[str, Any] | None = None, depth: int = 100,
               vector_weight: float = 0.5, neighbor_weight: float | None = None,
               neighbor_window: timedelta = timedelta(minutes=2), time_weight: float = 0.5,
               session_weight: float | None = None) -> Gen[list[SearchItem]]:
    """:func:`recall` as an operation (:mod:`~langmem_ext.long_term._io`), for other operations to ``yield from``."""
    names, ops = _plan(store, namespace_prefix, query, mode=mode, limit=limit, depth=depth, filter=filter)
    results = yield Batch(ops, dict(enumerate(names)))
    return fuse_results(query, dict(zip(names, results)), mode=mode, vector_weight=vector_weight,
                        neighbor_weight=neighbor_weight, neighbor_window=neighbor_window,
                        time_weight=time_weight, session_weight=session_weight)[:limit]


def recall(
    store: BaseStore,
    namespace_prefix: tuple[str, ...],
    query: str,
    *,
    limit: int = 10,
    mode: RecallMode = "hybrid",
    filter: dict[str, Any] | None = None,
    depth: int = 100,
    vector_weight: float = 0.5,
    neighbor_weight: float | None = None,
    neighbor_window: timedelta = timedelta(minutes=2),
    time_weight: float = 0.5,
    session_weight: float | None = None,
) -> list[SearchItem]:
    """The ``limit`` best memories for ``query`` (see the module docstring for the recipe).

    Args:
        store: A LangGraph store with a vector index; ``"text"`` needs one that also
            searches by BM25 (``langmem_ext.store.RedisStore``), and the hybrid modes
            use the vector list alone without it.
        namespace_prefix: Where to search, e.g. ``("memories", "u1")``.
        query: The question or message.
        limit: Results to return.
        mode: ``"vector"``, ``"text"`` (BM25), ``"hybrid"`` or ``"hybrid+time"``.
        filter: Passed to the store's search.
        depth: Candidates fetched per list before fusion.
        vector_weight: Weight of the vector list in the fusion (0..1).
        neighbor_weight: Share of a neighbour's score passed on (0 = off); default 0.25 in
            the hybrid modes and 0 in ``"vector"``/``"text"`` (the plain store rankings).
        neighbor_window: How close in ``occurred_at`` memories must be to be neighbours.
        time_weight: Boost per time signal in ``"hybrid+time"`` (in z-score units).
        session_weight: Weight of the session prior (default 0.1 in the hybrid modes).

    Returns:
        ``SearchItem``s, best first, ``score`` = the fused score.

    Raises:
        ValueError: Bad option values, or ``"text"`` on a store without BM25.
    """
    return run_sync(store, recall_gen(store, namespace_prefix, query, limit=limit, mode=mode, filter=filter, depth=depth,
                                   vector_weight=vector_weight, neighbor_weight=neighbor_weight,
                                   neighbor_window=neighbor_window, time_weight=time_weight, session_weight=session_weight))


async def arecall(
    store: BaseStore,
    namespace_prefix: tuple[str, ...],
    query: str,
    *,
    limit: int = 10,
    mode: RecallMode = "hybrid",
    filter: dict[str, Any] | None = None,
    depth: int = 100,
    vector_weight: float = 0.5,
    neighbor_weight: float | None = None,
    neighbor_window: timedelta = timedelta(minutes=2),
    time_weight: float = 0.5,
    session_weight: float | None = None,
) -> list[SearchItem]:
    """Async :func:`recall`."""
    return await run_async(store, recall_gen(store, namespace_prefix, query, limit=limit, mode=mode, filter=filter,
                                          depth=depth, vector_weight=vector_weight, neighbor_weight=neighbor_weight,
                                          neighbor_window=neighbor_window, time_weight=time_weight, session_weight=session_weight))
