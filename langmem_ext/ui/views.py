"""Pure view models of the memory browser: diffs, the validity timeline, score bars, pages.

Nothing here does I/O or builds HTML: templates render these plain values, and Jinja2's
autoescaping is what turns memory text into text (see ``templates/``).

Example:
    >>> word_diff("Lives in Lisbon", "Lives in Porto since May")
    [('eq', 'Lives in '), ('del', 'Lisbon'), ('ins', 'Porto since May')]
    >>> page_window(total=95, page=3, per_page=20)
    Page(number=3, pages=5, offset=40, per_page=20, total=95)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple

__all__ = [
    "Page",
    "TimelineBar",
    "ScoreSegment",
    "in_time_order",
    "page_window",
    "score_segments",
    "timeline",
    "word_diff",
]

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


def word_diff(old: str | None, new: str | None) -> list[tuple[str, str]]:
    """Word-level diff of two texts as ``(op, text)`` runs; ``op`` is ``eq``, ``del`` or ``ins``.

    Example:
        >>> word_diff(None, "new fact")
        [('ins', 'new fact')]
        >>> word_diff("old fact", None)
        [('del', 'old fact')]
    """
    if not old or not new or old == new:  # an insert, a delete, or a change of something else (pin, validity)
        return [(op, text) for op, text in (("del", old or ""), ("ins", new or "")) if text] if old != new else [("eq", old)]
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    runs: list[tuple[str, str]] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if runs and runs[-1][0] == op:
            runs[-1] = (op, runs[-1][1] + text)
        else:
            runs.append((op, text))

    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("eq", "".join(a[i1:i2]))
        else:
            add("del", "".join(a[i1:i2]))
            add("ins", "".join(b[j1:j2]))
    return runs


class Page(NamedTuple):
    """One page of a list: its 1-based number, the page count and the slice to fetch."""

    number: int
    pages: int
    offset: int
    per_page: int
    total: int


def page_window(*, total: int, page: int, per_page: int) -> Page:
    """Clamp a requested page into range (page 1 when the list is empty)."""
    pages = max(1, -(-total // per_page))
    number = min(max(1, page), pages)
    return Page(number, pages, (number - 1) * per_page, per_page, total)


@dataclass(frozen=True)
class TimelineBar:
    """A closed fact on the validity timeline: percentages of the whole span (SVG units)."""

    id: str
    label: str
    start: str
    end: str
    x: float
    width: float


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def timeline(facts: Sequence[Any], *, now: datetime | None = None) -> list[TimelineBar]:
    """Bars for facts with a validity period (``valid_from`` → ``valid_to``), oldest first.

    A fact without ``valid_from`` starts at its ``created_at``; one still open ends ``now``.
    Every bar is at least 1 % wide so a short period stays visible.

    Example:
        >>> from types import SimpleNamespace as F
        >>> d = lambda y: datetime(y, 1, 1, tzinfo=timezone.utc)
        >>> bars = timeline([F(id="a", content="in Lisbon", valid_from=d(2020), valid_to=d(2022), created_at=d(2020)),
        ...                  F(id="b", content="in Porto", valid_from=d(2022), valid_to=d(2024), created_at=d(2022))])
        >>> [(b.label, round(b.x), round(b.width)) for b in bars]
        [('in Lisbon', 0, 50), ('in Porto', 50, 50)]
    """
    now = now or datetime.now(timezone.utc)
    spans = []
    for f in facts:
        start = _aware(getattr(f, "valid_from", None) or f.created_at)
        end = _aware(getattr(f, "valid_to", None) or now)
        spans.append((start, max(start, end), f))
    if not spans:
        return []
    spans.sort(key=lambda s: s[0])
    lo, hi = spans[0][0], max(e for _, e, _ in spans)
    total = max((hi - lo).total_seconds(), 1.0)
    bars = []
    for start, end, f in spans:
        x = round(100 * (start - lo).total_seconds() / total, 2)
        width = max(1.0, round(100 * (end - start).total_seconds() / total, 2))
        bars.append(TimelineBar(str(f.id), str(f.content), start.date().isoformat(), end.date().isoformat(),
                                min(x, 99.0), min(width, 100.0 - min(x, 99.0))))
    return bars


@dataclass(frozen=True)
class ScoreSegment:
    """One component of a recall score: its value in [0, 1], its weight, its share of the bar."""

    name: str
    value: float
    weight: float
    x: float
    width: float


def score_segments(parts: Any, weights: Mapping[str, float]) -> list[ScoreSegment]:
    """A stacked bar of ``weight * component / sum(weights)`` per component (percent units).

    The segments add up to the score before the closed-fact factor, times 100.

    Example:
        >>> from types import SimpleNamespace as P
        >>> w = {"relevance": 0.55, "recency": 0.15, "importance": 0.2, "strength": 0.1}
        >>> segs = score_segments(P(relevance=1.0, recency=0.5, importance=0.0, strength=1.0), w)
        >>> [(s.name, s.x, s.width) for s in segs]
        [('relevance', 0.0, 55.0), ('recency', 55.0, 7.5), ('importance', 62.5, 0.0), ('strength', 62.5, 10.0)]
    """
    names = ("relevance", "recency", "importance", "strength")
    total = sum(float(weights.get(n, 0.0)) for n in names) or 1.0
    x, out = 0.0, []
    for n in names:
        value, weight = float(getattr(parts, n)), float(weights.get(n, 0.0))
        width = round(100 * weight * value / total, 2)
        out.append(ScoreSegment(n, value, weight, round(x, 2), width))
        x += width
    return out


def in_time_order(episodes: Sequence[Any]) -> list[Any]:
    """Episodes newest first by when they happened (``occurred_at``, else when written).

    Example:
        >>> from types import SimpleNamespace as E
        >>> d = lambda day: datetime(2024, 1, day, tzinfo=timezone.utc)
        >>> eps = [E(fields={"occurred_at": "2024-01-02T00:00:00+00:00"}, created_at=d(9)),
        ...        E(fields={}, created_at=d(5)), E(fields={"occurred_at": "2024-01-07T00:00:00Z"}, created_at=d(1))]
        >>> [e.created_at.day for e in in_time_order(eps)]
        [1, 5, 9]
    """

    def when(e: Any) -> datetime:
        raw = (getattr(e, "fields", None) or {}).get("occurred_at")
        if raw:
            try:
                return _aware(datetime.fromisoformat(str(raw).replace("Z", "+00:00")))
            except ValueError:
                pass
        return _aware(e.created_at)

    return sorted(episodes, key=when, reverse=True)
