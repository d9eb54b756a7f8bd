"""RedisStore.count_namespaces and scan_namespace_prefix (and their async twins)."""

from __future__ import annotations

from datetime import datetime, timezone

from langmem_ext.store import AsyncRedisStore, RedisStore

INDEX = {"dims": 4, "embed": lambda texts: [[1.0, float(len(t)), 0.0, 1.0] for t in texts], "fields": ["content"]}


def test_counts_and_scan_match_labels_exactly(redis_url: str) -> None:
    with RedisStore.from_conn_string(redis_url, index=INDEX) as store:  # type: ignore[arg-type]
        before = datetime.now(timezone.utc)
        store.put(("memories", "*", "semantic"), "k1", {"content": "a"})
        store.put(("memories", "*", "semantic"), "k2", {"content": "b", "extra": "c"})
        store.put(("memories", "*", "access"), "k1", {"n": 1}, index=False)
        store.put(("memories", "bob", "semantic"), "k1", {"content": "d"})
        store.put(("memories", "bobby", "semantic"), "k1", {"content": "e"})
        counts = {c.namespace: c for c in store.count_namespaces(("memories",))}
        assert {ns: c.items for ns, c in counts.items()} == {
            ("memories", "*", "access"): 1, ("memories", "*", "semantic"): 2,
            ("memories", "bob", "semantic"): 1, ("memories", "bobby", "semantic"): 1}
        assert all(c.updated_at >= before.replace(microsecond=0) for c in counts.values())
        assert [c.namespace for c in store.count_namespaces(("memories", "bob"))] == [("memories", "bob", "semantic")]
        assert store.scan_namespace_prefix(("memories", "*")) == 3  # "*" is a label, not a wildcard
        assert store.scan_namespace_prefix(("memories", "bob")) == 1
        store.delete_namespace_prefix(("memories", "*"))
        assert store.scan_namespace_prefix(("memories", "*")) == 0
        assert store.scan_namespace_prefix(("memories",)) == 2
        assert store.count_namespaces(("nothing",)) == []


async def test_async_twins(redis_url: str) -> None:
    async with AsyncRedisStore.from_conn_string(redis_url, index=INDEX) as store:  # type: ignore[arg-type]
        await store.aput(("memories", "u", "semantic"), "k", {"content": "x"})
        assert [c.items for c in await store.acount_namespaces()] == [1]
        assert await store.ascan_namespace_prefix(("memories", "u")) == 1
