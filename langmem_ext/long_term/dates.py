"""Resolve relative time expressions ("last Friday", "3 days ago") to absolute dates.

Pure functions over text and a reference time (the message's own timestamp):
memories must hold absolute dates, because "yesterday" means nothing a week later.

Conventions: "last <weekday>" is the most recent such day strictly before the
reference day; "next <weekday>" the first one strictly after; "this <weekday>"
the one in the reference's Monday-based week. "last week/month/year" resolve
to the start of that period.

Example:
    >>> from datetime import datetime
    >>> ref = datetime(2023, 5, 8, 13, 56)  # a Monday
    >>> [(m.text, m.date.isoformat()) for m in find_relative_dates("I went last Friday and 2 days ago", ref)]
    [('last Friday', '2023-05-05'), ('2 days ago', '2023-05-06')]
    >>> annotate_dates("See you tomorrow!", ref)
    'See you tomorrow (2023-05-09)!'
    >>> message_time({"timestamp": "2023-05-08T13:56:00Z"}).isoformat()
    '2023-05-08T13:56:00+00:00'
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

__all__ = ["RelativeDate", "find_relative_dates", "annotate_dates", "first_date", "message_time"]

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple of": 2, "few": 3,
}
_NUM = r"(\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few)"
_UNIT = r"(day|week|month|year)s?"
_PATTERN = re.compile(
    r"\b(?:"
    r"(?P<dby>the day before yesterday)|(?P<dat>the day after tomorrow)"
    r"|(?P<simple>today|tonight|yesterday|tomorrow)"
    r"|(?P<wdrel>last|this|next|on) (?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|(?P<prel>last|this|next) (?P<period>week(?:end)?|month|year)"
    rf"|(?P<ago_n>{_NUM}) {_UNIT} ago"
    rf"|in (?P<in_n>{_NUM}) (?P<in_unit>day|week|month|year)s?"
    r")\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RelativeDate:
    """A relative expression found in a text and the date it stands for."""

    start: int
    end: int
    text: str
    date: date


def _count(token: str) -> int:
    token = token.lower()
    if token in ("a couple of", "a few"):
        token = token[2:]
    return int(token) if token.isdigit() else _NUMBERS.get(token, 1)


def _shift(day: date, n: int, unit: str) -> date:
    unit = unit.lower().rstrip("s")
    if unit == "day":
        return day + timedelta(days=n)
    if unit == "week":
        return day + timedelta(weeks=n)
    months = n * (12 if unit == "year" else 1)
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _resolve(m: re.Match[str], ref: date) -> date:
    g = m.groupdict()
    if g["dby"]:
        return ref - timedelta(days=2)
    if g["dat"]:
        return ref + timedelta(days=2)
    if g["simple"]:
        return ref + timedelta(days={"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}[g["simple"].lower()])
    if g["wd"]:
        target = _WEEKDAYS.index(g["wd"].lower())
        rel = g["wdrel"].lower()
        if rel == "last":
            return ref - timedelta(days=(ref.weekday() - target - 1) % 7 + 1)
        if rel == "next":
            return ref + timedelta(days=(target - ref.weekday() - 1) % 7 + 1)
        if rel == "this":
            return ref + timedelta(days=target - ref.weekday())
        # "on Friday": the nearest past occurrence, or today
        return ref - timedelta(days=(ref.weekday() - target) % 7)
    if g["period"]:
        rel, period = g["prel"].lower(), g["period"].lower()
        step = {"last": -1, "this": 0, "next": 1}[rel]
        if period == "weekend":
            saturday = ref + timedelta(days=5 - ref.weekday())
            return saturday + timedelta(weeks=step)
        if period == "week":
            return ref - timedelta(days=ref.weekday()) + timedelta(weeks=step)
        if period == "month":
            return _shift(ref.replace(day=1), step, "month")
        return date(ref.year + step, 1, 1)
    if g["ago_n"]:
        unit = m.group(0).split()[-2]
        return _shift(ref, -_count(g["ago_n"]), unit)
    return _shift(ref, _count(g["in_n"]), g["in_unit"])


def _ref_date(reference: datetime | date) -> date:
    return reference.date() if isinstance(reference, datetime) else reference


def find_relative_dates(text: str, reference: datetime | date) -> list[RelativeDate]:
    """Every relative time expression in ``text``, resolved against ``reference``."""
    ref = _ref_date(reference)
    return [RelativeDate(m.start(), m.end(), m.group(0), _resolve(m, ref)) for m in _PATTERN.finditer(text)]


def annotate_dates(text: str, reference: datetime | date) -> str:
    """``text`` with each relative expression followed by its absolute date in parentheses."""
    out, last = [], 0
    for found in find_relative_dates(text, reference):
        out += [text[last : found.end], f" ({found.date.isoformat()})"]
        last = found.end
    return "".join(out) + text[last:]


def first_date(text: str, reference: datetime) -> datetime:
    """The first relative date in ``text`` as a UTC datetime, else ``reference`` itself."""
    found = find_relative_dates(text, reference)
    if not found:
        return reference
    d = found[0].date
    return datetime(d.year, d.month, d.day, tzinfo=reference.tzinfo or timezone.utc)


def message_time(metadata: Mapping[str, Any] | None) -> datetime | None:
    """A message timestamp from ``additional_kwargs`` / ``response_metadata`` (``timestamp``,
    ``created_at`` or ``time``; ISO string, datetime or epoch seconds), as aware UTC."""
    if not metadata:
        return None
    for key in ("timestamp", "created_at", "time"):
        value = metadata.get(key)
        if value is None:
            continue
        if isinstance(value, datetime):
            when = value
        elif isinstance(value, (int, float)):
            when = datetime.fromtimestamp(value, tz=timezone.utc)
        elif isinstance(value, str):
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
        else:
            continue
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return None
