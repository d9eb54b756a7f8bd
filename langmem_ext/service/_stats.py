"""Statistics of one user's memories, pure: importance, strength, access, what forgetting drops next.

Forgetting (:func:`~langmem_ext.long_term.forget_weak`) archives an active, unpinned
memory once its decayed strength ``s * 0.5 ** (age / half_life)`` falls under the
threshold; solving for the age gives when each memory will cross it unless recalled.

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

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from langmem_ext.long_term.forgetting import current_strength, last_access
from langmem_ext.long_term.schemas import MemoryBase
from langmem_ext.service.views import ForgetCandidate, MemoryView, UserStats

__all__ = ["drops_at", "user_stats"]


def drops_at(memory: MemoryBase, *, threshold: float, half_life: timedelta) -> datetime:
    """When ``memory``'s strength falls under ``threshold`` if it is not recalled before."""
    start = last_access(memory)
    if memory.strength <= threshold:
        return start
    return start + half_life * math.log2(memory.strength / threshold)


def user_stats(user_id: str, memories: Sequence[MemoryBase], *, now: datetime, threshold: float,
               half_life: timedelta, top: int = 10) -> UserStats:
    """The statistics of ``memories`` (access statistics already overlaid)."""

    def view(m: MemoryBase) -> MemoryView:
        return MemoryView.of(m, user_id=user_id, now=now, half_life=half_life)

    active = [m for m in memories if m.status == "active"]
    strengths = [current_strength(m.strength, last_access(m), now, half_life=half_life) for m in active]
    buckets = {f"{i / 10:.1f}-{(i + 1) / 10:.1f}": 0 for i in range(10)}
    for s in strengths:
        i = min(int(s * 10), 9)
        buckets[f"{i / 10:.1f}-{(i + 1) / 10:.1f}"] += 1
    by_kind: dict[str, int] = {}
    for m in memories:
        by_kind[m.kind] = by_kind.get(m.kind, 0) + 1
    candidates = sorted((m for m in active if not m.pinned), key=lambda m: drops_at(m, threshold=threshold, half_life=half_life))
    recalled = sorted((m for m in memories if m.access_count), key=lambda m: -m.access_count)
    return UserStats(
        user_id=user_id,
        total=len(memories),
        active=len(active),
        archived=len(memories) - len(active),
        pinned=sum(m.pinned for m in memories),
        closed=sum(getattr(m, "valid_to", None) is not None for m in memories),
        by_kind=by_kind,
        importance={i: sum(m.importance == i for m in memories) for i in range(1, 11)},
        strength={"min": min(strengths, default=0.0), "mean": sum(strengths) / len(strengths) if strengths else 0.0,
                  "max": max(strengths, default=0.0)},
        strength_buckets=buckets,
        recalls=sum(m.access_count for m in memories),
        never_recalled=sum(not m.access_count for m in memories),
        most_recalled=[view(m) for m in recalled[:top]],
        threshold=threshold,
        half_life_days=half_life.total_seconds() / 86400,
        forgettable_now=sum(s < threshold for m, s in zip(active, strengths) if not m.pinned),
        forget_next=[ForgetCandidate(memory=view(m), drops_at=drops_at(m, threshold=threshold, half_life=half_life))
                     for m in candidates[:top]],
    )
