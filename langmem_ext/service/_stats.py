"""Statistics of one user's memories, pure: importance, strength, access, what forgetting drops next.

Forgetting (:func:`~langmem_ext.long_term.forget_weak`) archives an active, unpinned
memory once its decayed strength ``s * 0.5 ** (age / half_life)`` falls under the
threshold; solving for the age gives when each memory will cross it unless recalled.

Every statistic is computed from a :class:`StatRow` per memory (the few fields it needs),
so the two ways the service gets them give the same figures: rows from the store's
numbers (``RedisStore.numbers``: a few numbers per memory, no JSON) or from full memories
(:func:`row_of`, any store). :func:`tally` does the arithmetic, and :func:`finish` adds the
views of the handful of memories the lists show. Ties are broken by memory id, and the
mean strength is an exact sum (``math.fsum``), so the order rows arrive in never matters.

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> from langmem_ext.long_term.schemas import SemanticMemory
    >>> now = datetime(2025, 3, 1, tzinfo=timezone.utc)
    >>> old = SemanticMemory(content="a", updated_at=now - timedelta(days=60))
    >>> new = SemanticMemory(content="b", updated_at=now, importance=9, access_count=3)
    >>> stats = user_stats("u1", [old, new], now=now, threshold=0.05, half_life=timedelta(days=30))
    >>> stats.total, stats.importance[9], stats.recalls, round(stats.strength["min"], 2)
    (2, 1, 3, 0.25)
    >>> [c.memory.content for c in stats.forget_next], stats.forget_next[0].drops_at.date().isoformat()
    (['a', 'b'], '2025-05-09')
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Optional, Protocol

from pydantic import TypeAdapter

from langmem_ext.long_term.forgetting import current_strength, last_access
from langmem_ext.long_term.schemas import MemoryBase
from langmem_ext.service.views import ForgetCandidate, MemoryView, UserStats

__all__ = ["MEMORY_NUMBERS", "MEMORY_TIMES", "STATS_NUMBERS", "STATS_TIMES", "StatRow", "Tally", "drops_at", "finish",
           "overlay_of", "overlay_row", "row_from_numbers", "row_of", "tally", "user_stats"]

_IMPORTANCE, _PINNED, _STRENGTH, _ACCESS = ("importance",), ("pinned",), ("strength",), ("access_count",)
_UPDATED, _LAST, _VALID_TO = ("updated_at",), ("last_accessed_at",), ("valid_to",)
MEMORY_NUMBERS: tuple[tuple[str, ...], ...] = (_IMPORTANCE, _PINNED, _STRENGTH, _ACCESS)
"""The numbers of a memory the statistics read."""
MEMORY_TIMES: tuple[tuple[str, ...], ...] = (_UPDATED, _LAST, _VALID_TO)
"""The date-times of a memory the statistics read."""
STATS_NUMBERS: tuple[tuple[str, ...], ...] = (_STRENGTH, _ACCESS)
STATS_TIMES: tuple[tuple[str, ...], ...] = (_LAST,)
"""The numbers and date-times of an access-statistics sidecar (what ``overlay_stats`` applies)."""


class _Timed(Protocol):
    strength: float
    last_accessed_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class StatRow:
    """What the statistics read of one memory (its access statistics overlaid)."""

    id: str
    kind: str
    active: bool
    pinned: bool
    importance: int
    strength: float
    access_count: int
    updated_at: datetime
    last_accessed_at: datetime | None
    closed: bool


def drops_at(memory: _Timed, *, threshold: float, half_life: timedelta) -> datetime:
    """When ``memory``'s strength falls under ``threshold`` if it is not recalled before."""
    start = last_access(memory)  # type: ignore[arg-type]
    if memory.strength <= threshold:
        return start
    return start + half_life * math.log2(memory.strength / threshold)


def row_of(memory: MemoryBase) -> StatRow:
    """The row of a memory read whole (statistics already overlaid)."""
    return StatRow(memory.id, memory.kind, memory.status == "active", memory.pinned, memory.importance,
                   memory.strength, memory.access_count, memory.updated_at, memory.last_accessed_at,
                   getattr(memory, "valid_to", None) is not None)


def row_from_numbers(kind: str, active: bool, numbers: Any) -> StatRow | None:
    """The row of a memory from the store's numbers (``ItemNumbers``), None if some are missing."""
    n, t = numbers.numbers, numbers.times
    if not numbers.complete or len(n) < 4 or _UPDATED not in t:  # all four numbers, and when it changed
        return None
    return StatRow(numbers.key, kind, active, bool(n[_PINNED]), int(n[_IMPORTANCE]), n[_STRENGTH], int(n[_ACCESS]),
                   t[_UPDATED], t.get(_LAST), _VALID_TO in t)


_WHEN = TypeAdapter(Optional[datetime])


def overlay_of(sidecar: Any) -> dict[str, Any]:
    """An access-statistics sidecar (its stored value, or its ``ItemNumbers``) as :func:`overlay_row` takes it.

    >>> overlay_of({"strength": 0.5, "access_count": 2, "last_accessed_at": "2025-01-01T00:00:00Z"})["last_accessed_at"].year
    2025
    """
    if isinstance(sidecar, Mapping):
        out: dict[str, Any] = {}
        if "strength" in sidecar:
            out["strength"] = float(sidecar["strength"])
        if "access_count" in sidecar:
            out["access_count"] = int(sidecar["access_count"])
        if "last_accessed_at" in sidecar:
            out["last_accessed_at"] = _WHEN.validate_python(sidecar["last_accessed_at"])
        return out
    n, t = sidecar.numbers, sidecar.times
    out = {"last_accessed_at": t[_LAST]} if _LAST in t else {}
    if _STRENGTH in n:
        out["strength"] = n[_STRENGTH]
    if _ACCESS in n:
        out["access_count"] = int(n[_ACCESS])
    return out


def overlay_row(row: StatRow, stats: Mapping[str, Any] | None) -> StatRow:
    """``row`` with its sidecar access statistics applied (as ``overlay_stats`` applies them)."""
    if not stats:
        return row
    return replace(row, **{k: stats[k] for k in ("strength", "access_count", "last_accessed_at") if k in stats})


@dataclass
class Tally:
    """The figures of :class:`UserStats`, with the ids its two lists show (views added by :func:`finish`)."""

    total: int = 0
    active: int = 0
    pinned: int = 0
    closed: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    importance: dict[int, int] = field(default_factory=lambda: {i: 0 for i in range(1, 11)})
    strength: dict[str, float] = field(default_factory=dict)
    strength_buckets: dict[str, int] = field(default_factory=dict)
    recalls: int = 0
    never_recalled: int = 0
    forgettable_now: int = 0
    forget_next: list[tuple[str, str]] = field(default_factory=list)
    """(id, kind), the soonest to drop first."""
    most_recalled: list[tuple[str, str]] = field(default_factory=list)
    """(id, kind), most recalled first."""


def tally(rows: Iterable[StatRow], *, now: datetime, threshold: float, half_life: timedelta, top: int = 10,
          kinds: Sequence[str] = ()) -> Tally:
    """The statistics of ``rows`` (``kinds``: the order of ``by_kind``, the others after)."""
    rows = list(rows)
    out = Tally(by_kind={k: 0 for k in kinds})
    strengths: list[float] = []
    buckets = {f"{i / 10:.1f}-{(i + 1) / 10:.1f}": 0 for i in range(10)}
    candidates: list[tuple[float, str, str]] = []
    hl = half_life.total_seconds()
    for r in rows:
        out.total += 1
        out.by_kind[r.kind] = out.by_kind.get(r.kind, 0) + 1
        out.pinned += r.pinned
        out.closed += r.closed
        if r.importance in out.importance:
            out.importance[r.importance] += 1
        out.recalls += r.access_count
        out.never_recalled += not r.access_count
        if r.active:
            out.active += 1
            s = current_strength(r.strength, r.last_accessed_at or r.updated_at, now, half_life=half_life)
            strengths.append(s)
            i = min(int(s * 10), 9)
            buckets[f"{i / 10:.1f}-{(i + 1) / 10:.1f}"] += 1
            if not r.pinned:
                out.forgettable_now += s < threshold
                # drops_at as seconds (the same order, without building a datetime per memory)
                start = (r.last_accessed_at or r.updated_at).timestamp()
                candidates.append((start + hl * math.log2(r.strength / threshold) if r.strength > threshold else start,
                                   r.id, r.kind))
    out.by_kind = {k: n for k, n in out.by_kind.items() if n}
    out.strength = {"min": min(strengths, default=0.0),
                    "mean": math.fsum(strengths) / len(strengths) if strengths else 0.0,
                    "max": max(strengths, default=0.0)}
    out.strength_buckets = buckets
    out.forget_next = [(i, k) for _, i, k in heapq.nsmallest(top, candidates)]
    recalled = sorted((-r.access_count, r.id, r.kind) for r in rows if r.access_count)
    out.most_recalled = [(i, k) for _, i, k in recalled[:top]]
    return out


def finish(user_id: str, t: Tally, views: Callable[[str], MemoryView | None], *, threshold: float,
           half_life: timedelta) -> UserStats:
    """:class:`UserStats` from a tally and the views of the memories its lists name (a missing one is left out).

    A candidate's ``drops_at`` is computed from its view (the memory read whole), so it is
    exact even when the tally's numbers came back rounded.
    """
    forget = [(v, drops_at(v, threshold=threshold, half_life=half_life)) for v in (views(i) for i, _ in t.forget_next)
              if v is not None]
    recalled = [views(i) for i, _ in t.most_recalled]
    return UserStats(
        user_id=user_id, total=t.total, active=t.active, archived=t.total - t.active, pinned=t.pinned,
        closed=t.closed, by_kind=t.by_kind, importance=t.importance, strength=t.strength,
        strength_buckets=t.strength_buckets, recalls=t.recalls, never_recalled=t.never_recalled,
        most_recalled=[v for v in recalled if v is not None], threshold=threshold,
        half_life_days=half_life.total_seconds() / 86400, forgettable_now=t.forgettable_now,
        forget_next=[ForgetCandidate(memory=v, drops_at=d) for v, d in forget],
    )


def user_stats(user_id: str, memories: Sequence[MemoryBase], *, now: datetime, threshold: float,
               half_life: timedelta, top: int = 10) -> UserStats:
    """The statistics of ``memories`` (access statistics already overlaid)."""
    by_id = {m.id: m for m in memories}
    kinds = list(dict.fromkeys(m.kind for m in memories))
    t = tally((row_of(m) for m in memories), now=now, threshold=threshold, half_life=half_life, top=top, kinds=kinds)
    return finish(user_id, t, lambda i: MemoryView.of(by_id[i], user_id=user_id, now=now, half_life=half_life),
                  threshold=threshold, half_life=half_life)
