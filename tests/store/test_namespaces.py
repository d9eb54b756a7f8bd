"""RedisStore.count_namespaces and scan_namespace_prefix (and their async twins)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

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


def test_counts_are_exact_per_namespace_at_every_depth(redis_url: str) -> None:
    """A namespace with both items and deeper namespaces counts only its own items."""
    with RedisStore.from_conn_string(redis_url, index=INDEX) as store:  # type: ignore[arg-type]
        store.put(("memories", "ann"), "top", {"content": "at the user level"})
        for i in range(3):
            store.put(("memories", "ann", "semantic"), f"k{i}", {"content": f"fact {i}"})
        store.put(("memories", "ann", "semantic", "deep"), "d", {"content": "deeper"})
        store.put(("other", "ann", "semantic"), "x", {"content": "another root"})
        store.put(("memories", "ann", "episodic"), "e", {"content": "gone soon"})
        store.delete(("memories", "ann", "episodic"), "e")  # its tag values may linger in the index
        counts = {c.namespace: c.items for c in store.count_namespaces(("memories",))}
        assert counts == {("memories", "ann"): 1, ("memories", "ann", "semantic"): 3,
                          ("memories", "ann", "semantic", "deep"): 1}
        assert [(c.namespace, c.items) for c in store.count_namespaces(("memories",), depth=3)] == [
            (("memories", "ann", "semantic"), 3)]
        late = store.count_namespaces(("memories", "ann", "semantic"))[0].updated_at
        store.put(("memories", "ann", "semantic"), "k0", {"content": "fact 0, edited"})
        again = {c.namespace: c for c in store.count_namespaces(("memories", "ann"), depth=3)}
        assert again[("memories", "ann", "semantic")].items == 3
        assert again[("memories", "ann", "semantic")].updated_at > late
        with pytest.raises(ValueError, match="depth"):
            store.count_namespaces(("memories",), depth=0)


async def test_async_twins(redis_url: str) -> None:
    async with AsyncRedisStore.from_conn_string(redis_url, index=INDEX) as store:  # type: ignore[arg-type]
        await store.aput(("memories", "u", "semantic"), "k", {"content": "x"})
        assert [c.items for c in await store.acount_namespaces()] == [1]
        assert [c.items for c in await store.acount_namespaces(("memories",), depth=3)] == [1]
        assert await store.acount_namespaces(("memories",), depth=2) == []
        assert await store.ascan_namespace_prefix(("memories", "u")) == 1
