"""MemoryService.stats from the store's numbers is the full read's result, on a varied dataset.

The Redis store answers ``stats`` with :meth:`RedisStore.numbers` (a few numbers per
memory, no values) and reads only the memories its two lists show; the reference is the
computation that reads every memory and its access statistics (what any store gets).
Both run on the same data at the same instant and must agree on every figure.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
from langgraph.store.base import GetOp, PutOp

from langmem_ext.long_term.forgetting import stats_ops
from langmem_ext.long_term.schemas import EpisodicMemory, ProceduralMemory, SemanticMemory, to_value
from langmem_ext.long_term.testing import HASH_DIMS, hash_embed
from langmem_ext.service import MemoryService
from langmem_ext.service._drive import run_sync
from langmem_ext.store import RedisStore
from langmem_ext.store import _keys as K

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
USER = "maya"


def _memory(rng: random.Random, i: int) -> Any:
    when = NOW - timedelta(days=rng.uniform(0, 400), microseconds=rng.randrange(1_000_000))
    common: dict[str, Any] = {
        "importance": rng.randint(1, 10), "created_at": when - timedelta(days=3), "updated_at": when,
        "pinned": rng.random() < 0.1, "status": "archived" if rng.random() < 0.15 else "active",
        "strength": rng.choice([1.0, 1.0, 1.0, rng.uniform(0.01, 1.0), 0.04]),
    }
    if rng.random() < 0.2:  # statistics carried by the memory itself (an import, or an edit after a recall)
        common |= {"access_count": rng.randint(1, 4), "last_accessed_at": when + timedelta(days=rng.uniform(0, 30))}
    pick = i % 4
    if pick < 2:
        closed = rng.random() < 0.3
        return SemanticMemory(content=f"fact {i} about {rng.choice(['tea', 'jazz', 'Porto'])}",
                              valid_to=when if closed else None, **common)
    if pick == 2:
        return EpisodicMemory(situation=f"episode {i}", occurred_at=when, **common)
    return ProceduralMemory(rule=f"rule {i}: answer briefly", **common)


@pytest.fixture
def seeded(redis_url: str) -> Iterator[tuple[MemoryService, RedisStore, dict[str, int]]]:
    rng = random.Random(7)
    with RedisStore.from_conn_string(redis_url, index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]}) as store:  # type: ignore[arg-type]
        service = MemoryService(store)
        memories = [_memory(rng, i) for i in range(160)]
        store.batch([PutOp(("memories", USER, m.kind), m.id, to_value(m)) for m in memories])
        stats_ns = ("memories", USER, "access")
        recalled = rng.sample(memories, 50)
        for m in recalled:  # sidecars written as RecallNode writes them, at various times and hit counts
            when = NOW - timedelta(days=rng.uniform(0, 90), microseconds=rng.randrange(1_000_000))
            store.batch(stats_ops(stats_ns, [m], when, half_life=service.half_life, hits=[rng.randint(1, 5)]))
        store.put(stats_ns, "orphan", {"last_accessed_at": NOW.isoformat(), "access_count": 99, "strength": 0.9},
                  index=False)  # statistics of a memory that no longer exists
        # Decoys: another user, a deeper namespace, bookkeeping under the user.
        other = SemanticMemory(content="omar's fact", importance=10, updated_at=NOW)
        store.put(("memories", "omar", "semantic"), other.id, to_value(other))
        deep = SemanticMemory(content="a deeper namespace", updated_at=NOW)
        store.put(("memories", USER, "semantic", "drafts"), deep.id, to_value(deep))
        store.put(("memories", USER, "reflection_cursor"), "t1", {"seen": 3}, index=False)
        # Records written before the store kept numbers beside values: no "dv" mark, no date-time fields.
        client = redis.Redis.from_url(redis_url)
        legacy = [m for m in memories if m not in recalled][:5] + recalled[:3]
        for m in legacy:
            key = K.item_key(store.prefix, ("memories", USER, m.kind), m.id)
            client.hdel(key, "dv", *[f.decode() for f in client.hkeys(key) if f.startswith(b"d")])
        for m in recalled[:3]:
            key = K.item_key(store.prefix, stats_ns, m.id)
            client.hdel(key, "dv", *[f.decode() for f in client.hkeys(key) if f.startswith(b"d")])
        client.close()
        yield service, store, {"memories": len(memories), "legacy": len(legacy) + 3}
        service.flush()


def _assert_same(a: Any, b: Any, where: str = "stats") -> None:
    """Equal, but for the precision RediSearch returns indexed numbers with (12 significant digits)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-10, abs=1e-15), where
    elif isinstance(a, datetime):
        assert a == b, where
    else:
        assert a == b, where


def test_stats_from_numbers_equal_the_full_read(seeded: Any) -> None:
    service, store, sizes = seeded
    for top in (10, 3):
        fast = run_sync(store, service.stats_op(USER, top=top, now=NOW))
        full = run_sync(store, service._stats_read_all(USER, top=top, now=NOW))
        _assert_same(fast.model_dump(), full.model_dump())
    # The dataset exercises what it should: every part of the figures is non-trivial.
    assert fast.total == sizes["memories"] and 0 < fast.archived < fast.total and fast.pinned and fast.closed
    assert fast.forgettable_now > 0 and len(fast.forget_next) == 3 and len(fast.most_recalled) == 3
    assert fast.most_recalled[0].access_count >= fast.most_recalled[-1].access_count > 0
    assert sum(fast.strength_buckets.values()) == fast.active and fast.recalls > 0
    assert [c.drops_at for c in fast.forget_next] == sorted(c.drops_at for c in fast.forget_next)


def test_stats_read_numbers_not_memories(seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    service, store, sizes = seeded
    reads: list[int] = []
    batch = store.batch

    def counted(ops: Any, **kwargs: Any) -> Any:
        reads.append(sum(isinstance(op, GetOp) for op in ops))
        return batch(ops, **kwargs)

    monkeypatch.setattr(store, "batch", counted)
    monkeypatch.setattr(type(service), "_stats_read_all", lambda *a, **k: pytest.fail("read every memory"))
    stats = service.stats(USER, top=5)
    # Only the legacy records and the memories (and statistics) the two lists show are read whole.
    assert stats.total == sizes["memories"] and sum(reads) <= sizes["legacy"] + 2 * (5 + 5)


def test_a_store_without_numbers_is_read_whole() -> None:
    from langgraph.store.memory import InMemoryStore

    service = MemoryService(InMemoryStore(index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]}))
    service.add(USER, kind="semantic", content="Maya lives in Porto", importance=8)
    assert not hasattr(service.store, "numbers")
    stats = run_sync(service.store, service.stats_op(USER, now=NOW + timedelta(days=3650)))
    assert stats.total == 1 and stats.importance[8] == 1 and stats.forgettable_now == 1

