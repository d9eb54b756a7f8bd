"""The store's size limits: refused before any write, naming the limit; deletes are never limited."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.store.base import PutOp, SearchOp

from langmem_ext.limits import LimitExceededError, Limits
from langmem_ext.store import AsyncRedisStore
from tests.store.conftest import DIMS, WordEmbeddings

SMALL = Limits(value_bytes=200, indexed_text_bytes=50, namespace_labels=3, label_chars=10, key_bytes=8,
               query_bytes=20)
NO_LIMITS = Limits(**{name: None for name in Limits.__dataclass_fields__})


async def _batch(store: Any, ops: list[Any]) -> list[Any]:
    return await store.abatch(ops) if isinstance(store, AsyncRedisStore) else store.batch(ops)


async def _contents(store: Any) -> list[tuple[tuple[str, ...], str, dict]]:
    (items,) = await _batch(store, [SearchOp((), limit=100)])
    return sorted((i.namespace, i.key, i.value) for i in items)


@pytest.mark.parametrize(
    "op, limit",
    [
        (PutOp(("u",), "k" * 9, {"text": "x"}), "key_bytes"),
        (PutOp(("u",), "ké" * 4, {"text": "x"}), "key_bytes"),  # 12 bytes in UTF-8
        (PutOp(("a", "b", "c", "d"), "k", {"text": "x"}), "namespace_labels"),
        (PutOp(("u", "x" * 11), "k", {"text": "x"}), "label_chars"),
        (PutOp(("u",), "k", {"other": "y" * 200}), "value_bytes"),
        (PutOp(("u",), "k", {"text": "z" * 51}), "indexed_text_bytes"),
        (PutOp(("u",), "k", {"text": ["ok", "w" * 51]}), "indexed_text_bytes"),
        (SearchOp(("u",), query="q" * 21), "query_bytes"),
        (SearchOp(("a", "b", "c", "d")), "namespace_labels"),
    ],
)
async def test_over_a_limit_is_refused_and_the_batch_writes_nothing(make_store, op, limit):
    store = await make_store(index={"dims": DIMS, "embed": WordEmbeddings(), "fields": ["text"]}, limits=SMALL)
    await _batch(store, [PutOp(("u",), "k", {"text": "small"})])
    before = await _contents(store)
    with pytest.raises(LimitExceededError, match=rf"over the limit {limit}=") as info:
        await _batch(store, [PutOp(("u",), "k", {"text": "changed"}), PutOp(("v",), "new", {"text": "x"}), op])
    assert info.value.limit == limit and "limits=Limits(" in str(info.value)
    assert await _contents(store) == before


async def test_the_defaults_apply_and_none_disables(make_store):
    default = await make_store()
    assert default.limits == Limits()
    with pytest.raises(LimitExceededError, match="namespace_labels=16"):
        await _batch(default, [PutOp(tuple(f"l{i}" for i in range(17)), "k", {"a": 1})])
    free = await make_store(limits=NO_LIMITS, key_prefix="free")
    deep = tuple(f"l{i}" for i in range(17))
    await _batch(free, [PutOp(deep, "k" * 2000, {"a": "b" * (2**20 + 1)})])
    (item,) = await _batch(free, [SearchOp(deep[:3])])
    assert item[0].key == "k" * 2000


async def test_deletes_and_reads_of_an_oversized_item_are_not_limited(make_store):
    big = await make_store(limits=NO_LIMITS)
    await _batch(big, [PutOp(("u",), "k" * 20, {"a": "b" * 500})])
    small = await make_store(limits=SMALL)
    (got,) = await _batch(small, [SearchOp(("u",))])
    assert [i.key for i in got] == ["k" * 20]
    await _batch(small, [PutOp(("u",), "k" * 20, None)])
    assert await _contents(small) == []


async def test_put_if_version_is_limited_too(make_store):
    store = await make_store(limits=SMALL)
    put = store.aput_if_version if isinstance(store, AsyncRedisStore) else None
    with pytest.raises(LimitExceededError, match="value_bytes"):
        if put is not None:
            await put(("u",), "k", {"a": "b" * 300}, expected_version=None)
        else:
            store.put_if_version(("u",), "k", {"a": "b" * 300}, expected_version=None)
    assert await _contents(store) == []


def test_limits_must_be_a_limits_value(redis_client):
    from langmem_ext.store import RedisStore

    with pytest.raises(TypeError, match="langmem_ext.limits.Limits"):
        RedisStore(redis_client, limits={"value_bytes": 5})  # type: ignore[arg-type]
