"""Counts of what model calls did: valid, repaired, fallback; requests per turn; one log line per fallback.

Every memory call ends in one :class:`Outcome`: ``valid`` (the first answer was usable),
``repaired`` (usable after the one repair request) or ``fallback`` (the offline strategy
answered: extractive summary, heuristic score, offline extractor). A fallback logs ONE
WARNING line naming what fell back, the model, the cause and the count, e.g.::

    summary fell back to the extractive summary: model=smollm2 cause=transient: 500 ... count=3

:func:`fallback_line` is the one-line summary the demo prints.

Example:
    >>> reset_stats()
    >>> record("summary", "valid", model="m", requests=1, turn="t1")
    >>> record("score", "fallback", model="m", requests=2, turn="t1", cause="timeout", fallback="the heuristic score")
    >>> fallback_line()
    'Model calls: 1 valid, 0 repaired, 1 fallback (score 1: timeout).'
    >>> snapshot().requests_per_turn
    {'t1': 3}
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["CallStats", "Outcome", "fallback_line", "record", "reset_stats", "snapshot"]

logger = logging.getLogger("langmem_ext.llm")

Outcome = Literal["valid", "repaired", "fallback"]


@dataclass
class CallStats:
    """What the memory and reply calls of this process did (see :func:`snapshot`)."""

    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(purpose, outcome) -> calls."""
    causes: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(purpose, cause kind) -> fallbacks."""
    requests_per_turn: dict[str, int] = field(default_factory=dict)
    """turn key -> HTTP requests sent for it (memory work and reply)."""
    requests: int = 0

    def total(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.outcomes.items() if o == outcome)


_STATS = CallStats()
_TURN_ORDER: OrderedDict[str, None] = OrderedDict()
_LOCK = threading.Lock()


def count_request(turn: str | None) -> None:
    """Count one HTTP request (for ``turn``, when known)."""
    with _LOCK:
        _STATS.requests += 1
        if turn is not None:
            _STATS.requests_per_turn[turn] = _STATS.requests_per_turn.get(turn, 0) + 1
            _TURN_ORDER[turn] = None
            _TURN_ORDER.move_to_end(turn)
            while len(_TURN_ORDER) > 10_000:
                old, _ = _TURN_ORDER.popitem(last=False)
                _STATS.requests_per_turn.pop(old, None)


def record(purpose: str, outcome: Outcome, *, model: str, requests: int = 0, turn: str | None = None,
           cause: str = "", fallback: str = "", count: int = 1) -> None:
    """Count one call's outcome; a fallback also logs its one line.

    ``requests`` are added to the turn's count here only when they were not already
    counted with :func:`count_request` (the call machinery counts as it sends).
    """
    with _LOCK:
        _STATS.outcomes[(purpose, outcome)] += 1
        if outcome == "fallback":
            _STATS.causes[(purpose, cause.split(":", 1)[0] or "unknown")] += 1
    for _ in range(requests):
        count_request(turn)
    if outcome == "fallback":
        logger.warning("%s fell back to %s: model=%s cause=%s count=%d", purpose, fallback or "its offline strategy",
                       model, cause or "unknown", count)


def snapshot() -> CallStats:
    """A copy of the counts so far."""
    with _LOCK:
        return CallStats(Counter(_STATS.outcomes), Counter(_STATS.causes), dict(_STATS.requests_per_turn), _STATS.requests)


def reset_stats() -> None:
    """Start counting from zero."""
    with _LOCK:
        _STATS.outcomes.clear()
        _STATS.causes.clear()
        _STATS.requests_per_turn.clear()
        _STATS.requests = 0
        _TURN_ORDER.clear()


def fallback_line(stats: CallStats | None = None) -> str:
    """One line: how many model calls were valid, repaired and fell back (with the causes)."""
    stats = stats or snapshot()
    valid, repaired, fallback = stats.total("valid"), stats.total("repaired"), stats.total("fallback")
    line = f"Model calls: {valid} valid, {repaired} repaired, {fallback} fallback"
    if fallback:
        per: dict[str, list[str]] = {}
        for (purpose, cause), n in sorted(stats.causes.items()):
            per.setdefault(purpose, []).append(f"{cause}" if n == 1 else f"{cause} x{n}")
        parts = [f"{p} {stats.outcomes[(p, 'fallback')]}: {', '.join(c)}" for p, c in per.items()]
        line += f" ({'; '.join(parts)})"
    return line + "."
