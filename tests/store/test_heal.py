"""A running store heals when its index is lost under it (FLUSHALL, a restart without persistence, FT.DROPINDEX).

Each test drives the sync class through its sync methods and the async class through its
async ones, so both drivers run the healing; the Redis is the suite's real one.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from redis.exceptions import ResponseError

from langmem_ext.store import AsyncRedisStore
from langmem_ext.store.schema import MIGRATIONS
from tests.store.conftest import WordEmbeddings


async def call(store: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """``store.method(...)`` on the sync class, ``await store.amethod(...)`` on the async one."""
    if isinstance(store, AsyncRedisStore):
        return await getattr(store, "a" + method)(*args, **kwargs)
    return getattr(store, method)(*args, **kwargs)


def _index(embeddings: WordEmbeddings) -> dict[str, Any]:
    return {"dims": embeddings.dims, "embed": embeddings, "fields": ["text"]}


async def test_search_after_flushall_recreates_the_index(make_store: Any, redis_client: Any,
                                                         embeddings: WordEmbeddings) -> None:
    store = await make_store(index=_index(embeddings), key_prefix="heal")
    await call(store, "put", ("docs",), "old", {"text": "sailing on the lake"})
    assert [i.key for i in await call(store, "search", ("docs",), query="sailing")] == ["old"]

    redis_client.flushall()  # the index, the meta hash and every item are gone; the store runs on

    assert await call(store, "search", ("docs",), query="sailing") == []  # healed: an empty answer, not an error
    assert redis_client.execute_command("FT.INFO", "heal:idx")  # the index exists again
    assert int(redis_client.hget("heal:meta", "version")) == len(MIGRATIONS)
    await call(store, "put", ("docs",), "new", {"text": "sailing after the flush", "n": 3})
    found = await call(store, "search", ("docs",), query="sailing", filter={"n": {"$gt": 2}})
    assert [i.key for i in found] == ["new"] and found[0].score is not None
    assert await call(store, "list_namespaces") == [("docs",)]


async def test_write_first_after_flushall_registers_its_numeric_filter_again(make_store: Any, redis_client: Any,
                                                                           embeddings: WordEmbeddings) -> None:
    store = await make_store(index=_index(embeddings), key_prefix="heal")
    await call(store, "put", ("docs",), "a", {"text": "tea", "n": 1})
    redis_client.flushall()
    # The put meets the missing index first (its numeric attribute is new to the lost index's meta hash).
    await call(store, "put", ("docs",), "b", {"text": "green tea", "n": 5, "m": 2})
    assert [i.key for i in await call(store, "search", ("docs",), filter={"m": {"$gte": 2}})] == ["b"]
    assert [i.key for i in await call(store, "search", ("docs",), query="tea")] == ["b"]


async def test_dropped_index_with_its_meta_left_is_rebuilt_over_the_items(make_store: Any, redis_client: Any,
                                                                         embeddings: WordEmbeddings) -> None:
    store = await make_store(index=_index(embeddings), key_prefix="heal")
    for i in range(5):
        await call(store, "put", ("docs",), f"k{i}", {"text": f"note {i} about chess"})
    redis_client.execute_command("FT.DROPINDEX", "heal:idx")  # items and meta hash stay: version says "created"

    deadline, keys = time.monotonic() + 10, []
    while time.monotonic() < deadline:  # RediSearch indexes the existing keys in the background
        keys = sorted(i.key for i in await call(store, "search", ("docs",), query="chess", limit=10))
        if len(keys) == 5:
            break
        time.sleep(0.05)
    assert keys == [f"k{i}" for i in range(5)]
    assert (await call(store, "get", ("docs",), "k3")).value == {"text": "note 3 about chess"}


async def test_other_errors_are_not_healed(make_store: Any, redis_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store = await make_store(key_prefix="heal")
    healed: list[int] = []
    original = store._heal_gen

    def counting() -> Any:
        healed.append(1)
        return original()

    monkeypatch.setattr(store, "_heal_gen", counting)
    redis_client.execute_command("FT.DROPINDEX", "heal:idx")
    # The index is lost: one heal per operation that meets it, then it works.
    assert await call(store, "search", ("docs",)) == [] and healed == [1]
    assert await call(store, "search", ("docs",)) == [] and healed == [1]
    # A missing index that setup cannot bring back (a key squats on the meta hash's name) is healed once, then raised.
    redis_client.flushall()
    redis_client.set("heal:meta", "not a hash")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await call(store, "search", ("docs",))
    assert healed == [1, 1]
