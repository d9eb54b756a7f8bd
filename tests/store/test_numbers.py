"""RedisStore.numbers: a few numbers and date-times per item, without reading the values."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import redis

from langmem_ext.store import AsyncRedisStore, InvalidFilterError, RedisStore
from langmem_ext.store import _keys as K
from langmem_ext.store import _numbers

PATHS = [("score",), ("meta", "weight"), ("flag",)]
TIMES = [("seen",)]


def test_numbers_and_times_of_one_namespace(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_numbers, "_CHUNK", 2)  # several cursor reads
    with RedisStore.from_conn_string(redis_url) as store:
        for i in range(5):
            store.put(("docs", "a"), f"k{i}", {"score": i, "seen": f"2025-01-0{i + 1}T10:00:00.12345{i}+00:00",
                                               "meta": {"weight": 0.1 * i}, "flag": i % 2 == 0, "tag": "even" if i % 2 == 0 else "odd"})
        store.put(("docs", "a"), "naive", {"score": 9, "seen": "2025-02-01T00:00:00"})  # read as UTC
        store.put(("docs", "a"), "words", {"score": "nine", "seen": "last tuesday"})  # neither a number nor a date
        store.put(("docs", "a", "deeper"), "d", {"score": 100})
        store.put(("docs", "b"), "other", {"score": 100})
        rows = {r.key: r for r in store.numbers(("docs", "a"), PATHS, times=TIMES)}
        assert sorted(rows) == ["k0", "k1", "k2", "k3", "k4", "naive", "words"]  # exactly that namespace
        k3 = rows["k3"]
        assert k3.complete and k3.numbers == {("score",): 3.0, ("meta", "weight"): pytest.approx(0.3), ("flag",): 0.0}
        assert k3.times == {("seen",): datetime(2025, 1, 4, 10, 0, 0, 123453, tzinfo=timezone.utc)}
        assert rows["naive"].times[("seen",)] == datetime(2025, 2, 1, tzinfo=timezone.utc)
        assert rows["words"].numbers == {} and rows["words"].times == {}
        even = store.numbers(("docs", "a"), [("score",)], filter={"tag": "even"})
        assert sorted(r.numbers[("score",)] for r in even) == [0.0, 2.0, 4.0]
        assert store.numbers(("docs", "a"), [("score",)], filter={"score": {"$gte": 3}}) != []
        assert store.numbers(("docs", "a"), [("score",)], filter={"never": {"$gt": 1}}) == []  # no number ever there
        with pytest.raises(InvalidFilterError, match="search"):
            store.numbers(("docs", "a"), [("score",)], filter={"meta": {"weight": {"$eq": {"x": 1}}}})
        with pytest.raises(ValueError, match="namespace"):
            store.numbers((), [("score",)])
        with pytest.raises(ValueError, match="paths"):
            store.numbers(("docs", "a"), ["score"])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="times"):
            store.numbers(("docs", "a"), times="seen")  # type: ignore[arg-type]


def test_items_written_before_numbers_are_marked_incomplete(redis_url: str) -> None:
    with RedisStore.from_conn_string(redis_url) as store:
        store.put(("docs",), "old", {"score": 1, "seen": "2025-01-01T00:00:00Z"})
        store.put(("docs",), "new", {"score": 2, "seen": "2025-01-01T00:00:00Z"})
        client = redis.Redis.from_url(redis_url)
        key = K.item_key(store.prefix, ("docs",), "old")
        client.hdel(key, "dv", K.time_field(("seen",)))  # as an older version wrote it
        client.close()
        rows = {r.key: r for r in store.numbers(("docs",), [("score",)], times=[("seen",)])}
        assert not rows["old"].complete and rows["old"].times == {} and rows["old"].numbers == {("score",): 1.0}
        assert rows["new"].complete and rows["new"].times
        store.put(("docs",), "old", {"score": 1, "seen": "2025-01-01T00:00:00Z"})  # rewritten: complete again
        assert all(r.complete for r in store.numbers(("docs",), [("score",)]))


async def test_async_twin(redis_url: str) -> None:
    async with AsyncRedisStore.from_conn_string(redis_url) as store:  # type: ignore[arg-type]
        await store.aput(("docs",), "k", {"score": 4})
        assert [r.numbers for r in await store.anumbers(("docs",), [("score",)])] == [{("score",): 4.0}]


def test_a_cursor_read_that_ran_out_of_time_goes_on(redis_url: str) -> None:
    """A timed-out read ends early and the cursor carries on (every row arrives); a timed-out last read fails."""
    from langmem_ext.store import SearchTimeoutError
    from langmem_ext.store._resp import Pipe

    def row(key: str) -> dict[bytes, Any]:
        return {b"extra_attributes": {b"k": key.encode(), b"dv": b"1", K.numeric_field(("score",)).encode(): b"1"}}

    warned = {b"results": [row("a")], b"warning": [b"Timeout limit was reached"]}
    with RedisStore.from_conn_string(redis_url) as store:
        store.put(("docs",), "a", {"score": 1})  # the store is set up: the generator's first request is the query
        gen = store._numbers_gen(("docs",), [("score",)], (), None)
        assert isinstance(next(gen), Pipe)
        assert gen.send([[warned, 7]]).cmds[0][:2] == ("FT.CURSOR", "READ")
        with pytest.raises(StopIteration) as done:
            gen.send([[{b"results": [row("b")], b"warning": []}, 0]])
        assert [r.key for r in done.value.value] == ["a", "b"]
        gen = store._numbers_gen(("docs",), [("score",)], (), None)
        next(gen)
        with pytest.raises(SearchTimeoutError):
            gen.send([[warned, 0]])
