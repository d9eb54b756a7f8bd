from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langmem_ext.long_term.dates import annotate_dates, find_relative_dates, first_date, message_time

MONDAY = datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("yesterday", date(2023, 5, 7)),
        ("today", date(2023, 5, 8)),
        ("tomorrow", date(2023, 5, 9)),
        ("the day before yesterday", date(2023, 5, 6)),
        ("last Friday", date(2023, 5, 5)),
        ("last Monday", date(2023, 5, 1)),
        ("next Monday", date(2023, 5, 15)),
        ("this Wednesday", date(2023, 5, 10)),
        ("on Sunday", date(2023, 5, 7)),
        ("last week", date(2023, 5, 1)),
        ("last weekend", date(2023, 5, 6)),
        ("next month", date(2023, 6, 1)),
        ("last year", date(2022, 1, 1)),
        ("3 days ago", date(2023, 5, 5)),
        ("two weeks ago", date(2023, 4, 24)),
        ("a few months ago", date(2023, 2, 8)),
        ("a year ago", date(2022, 5, 8)),
        ("in 2 days", date(2023, 5, 10)),
    ],
)
def test_resolves(text, expected):
    found = find_relative_dates(f"I said {text}.", MONDAY)
    assert [f.date for f in found] == [expected]


def test_month_end_clamped():
    assert find_relative_dates("1 month ago", date(2023, 3, 31))[0].date == date(2023, 2, 28)


def test_annotate_and_first_date():
    assert annotate_dates("Went there yesterday", MONDAY) == "Went there yesterday (2023-05-07)"
    assert first_date("no dates here", MONDAY) == MONDAY
    assert first_date("met them last Friday", MONDAY) == datetime(2023, 5, 5, tzinfo=timezone.utc)


def test_message_time_formats():
    assert message_time({"timestamp": 0}) == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert message_time({"created_at": "2024-01-01T10:00:00"}).tzinfo is not None
    assert message_time({"timestamp": "not a date"}) is None
    assert message_time({}) is None


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.sampled_from(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]))
def test_last_and_next_weekday_properties(ref, weekday):
    last = find_relative_dates(f"last {weekday}", ref)[0].date
    nxt = find_relative_dates(f"next {weekday}", ref)[0].date
    assert 1 <= (ref - last).days <= 7 and 1 <= (nxt - ref).days <= 7
    assert last.strftime("%A").lower() == weekday == nxt.strftime("%A").lower()
