"""RedisStore and AsyncRedisStore on a real Redis: semantics, isolation, the peer's bugs, modes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.store.base import GetOp, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore

from langmem_ext.store import EmbeddingError, IncompatibleIndexError, InvalidFilterError, RedisStore
from langmem_ext.store.schema import MIGRATIONS
from langmem_ext.store import _keys as K

from .conftest import DIMS, BrokenEmbeddings, WordEmbeddings

NASTY = ['the', 'a', 'x', '@', '|', '{', '}', '"', "'", ' ', '-1', 'a b', 'a:b', 'a|b', '*', '%', '\\', '(x)',
         '$eq', 'ü', '中文', 'a,b', '{"ns"}', ':', '~', '-@p:{*}']


def _index(embed: Any, **extra: Any) -> dict[str, Any]:
    return {"dims": DIMS, "embed": embed, "fields": ["text"], **extra}


async def test_get_after_put_and_stopword_namespace_keeps_other_namespaces(make_store: Any) -> None:
    store = await make_store()
    await store.aput(("a",), "k", {"v": 1})
    await store.aput(("the",), "k", {"v": 2})
    await store.aput(("a",), "k2", {"v": 3})
    assert (await store.aget(("a",), "k")).value == {"v": 1}
    assert (await store.aget(("the",), "k")).value == {"v": 2}
    await store.adelete(("the",), "k")
    assert (await store.aget(("the",), "k")) is None
    assert (await store.aget(("a",), "k")).value == {"v": 1}


@pytest.mark.parametrize("label", NASTY)
async def test_query_syntax_labels_are_exact_and_isolated(make_store: Any, label: str) -> None:
    store = await make_store()
    await store.aput((label,), label, {"name": label})
    await store.aput((label + "x",), label, {"name": "other"})
    await store.aput(("u", label), "k", {"name": label})
    assert (await store.aget((label,), label)).value == {"name": label}
    assert [i.value["name"] for i in await store.asearch((label,))] == [label]
    assert [i.key for i in await store.asearch((), filter={"name": label})] == sorted([label, "k"], key=lambda k: k != "k")
    assert await store.alist_namespaces(prefix=("u", label)) == [("u", label)]


def test_namespaces_differing_only_in_punctuation_never_mix(redis_url: str) -> None:
    with RedisStore.from_conn_string(redis_url) as store:
        groups = [("user-1",), ("user_1",), ("user 1",), ("user:1",), ("user1",), ("u", "ser1"), ("user", "1")]
        for ns in groups:
            store.put(ns, "k", {"ns": list(ns)})
        for ns in groups:
            found = store.search(ns)
            assert [tuple(i.value["ns"]) for i in found] == [ns]
        assert store.delete_namespace_prefix(("user",)) == 1
        assert sorted(store.list_namespaces()) == sorted(g for g in groups if g != ("user", "1"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ns=st.lists(st.text(st.characters(blacklist_characters=".\x00", blacklist_categories=("Cs",)), min_size=1, max_size=6),
                min_size=1, max_size=3),
    key=st.text(max_size=8),
)
def test_any_namespace_and_key_round_trip(redis_client: Any, ns: list[str], key: str) -> None:
    store = RedisStore(redis_client, key_prefix="prop")
    store.put(tuple(ns), key, {"key": key})
    assert store.get(tuple(ns), key).value == {"key": key}
    assert any(i.key == key for i in store.search(tuple(ns[:1]), limit=1000))
    store.delete(tuple(ns), key)
    assert store.get(tuple(ns), key) is None


async def test_filter_with_query_and_offset(make_store: Any, embeddings: WordEmbeddings) -> None:
    store = await make_store(index=_index(embeddings))
    for i in range(12):
        await store.aput(("docs",), f"d{i}", {"text": f"red apple number {i}", "even": i % 2 == 0, "i": i})
    hits = await store.asearch(("docs",), query="red apple", filter={"even": True}, limit=4)
    assert len(hits) == 4 and all(h.value["even"] for h in hits)
    assert all(h.score is not None and -1.0 <= h.score <= 1.0 for h in hits)
    page2 = await store.asearch(("docs",), query="red apple", filter={"even": True}, limit=4, offset=4)
    assert len(page2) == 2 and not {h.key for h in hits} & {h.key for h in page2}
    listing = await store.asearch(("docs",), filter={"i": {"$gte": 3, "$lt": 9}}, limit=3, offset=2)
    full = await store.asearch(("docs",), filter={"i": {"$gte": 3, "$lt": 9}}, limit=100)
    assert [h.key for h in listing] == [h.key for h in full][2:5] and len(full) == 6
    assert [h.key for h in full] == [f"d{i}" for i in range(8, 2, -1)]  # newest first


async def test_filter_is_pushed_down_so_limit_is_met(make_store: Any, embeddings: WordEmbeddings) -> None:
    store = await make_store(index=_index(embeddings, ef_runtime=4, m=4))
    ops = [PutOp(("t",), f"k{i}", {"text": f"topic {i % 7} words", "group": "rare" if i % 10 == 0 else "common"})
           for i in range(300)]
    await store.abatch(ops)
    hits = await store.asearch(("t",), query="topic 3 words", filter={"group": "rare"}, limit=25)
    assert len(hits) == 25 and all(h.value["group"] == "rare" for h in hits)
    assert len(await store.asearch(("t",), query="topic", filter={"group": {"$ne": "common"}}, limit=100)) == 30


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.5, "a", "b", "", "the"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=st.lists(st.fixed_dictionaries({"n": st.integers(-3, 3)}, optional={"s": VALUES, "o": st.fixed_dictionaries(
        {}, optional={"x": VALUES, "y": st.lists(VALUES, max_size=2)})}), min_size=1, max_size=8),
    flt=st.one_of(
        st.fixed_dictionaries({"s": VALUES}),
        st.fixed_dictionaries({"s": st.fixed_dictionaries({}, optional={"$eq": VALUES, "$ne": VALUES})}),
        st.fixed_dictionaries({"n": st.fixed_dictionaries({}, optional={"$gt": st.integers(-3, 3), "$lte": st.integers(-3, 3)})}),
        st.fixed_dictionaries({"o": st.fixed_dictionaries({}, optional={"x": VALUES, "y": st.lists(VALUES, max_size=2)})}),
        st.fixed_dictionaries({"o": st.fixed_dictionaries({"x": st.fixed_dictionaries({"$ne": VALUES})})}),
    ),
)
def test_filters_select_what_inmemorystore_selects(redis_client: Any, docs: list[dict[str, Any]], flt: dict[str, Any]) -> None:
    redis_client.flushall()
    ours, ref = RedisStore(redis_client, key_prefix="diff"), InMemoryStore()
    for i, doc in enumerate(docs):
        ours.put(("d",), str(i), doc)
        ref.put(("d",), str(i), doc)
    want = sorted(i.key for i in ref.search(("d",), filter=flt, limit=100))
    assert sorted(i.key for i in ours.search(("d",), filter=flt, limit=100)) == want


async def test_bad_filter_and_bad_values_fail_clearly_and_write_nothing(make_store: Any) -> None:
    store = await make_store()
    await store.aput(("a",), "k", {"v": 1})
    with pytest.raises(InvalidFilterError, match=r"\$like"):
        await store.asearch(("a",), filter={"v": {"$like": 1}})
    with pytest.raises(InvalidFilterError, match="needs a number"):
        await store.asearch(("a",), filter={"v": {"$gt": "1"}})
    with pytest.raises(TypeError, match="not JSON"):
        await store.abatch([PutOp(("a",), "k", {"v": 2}), PutOp(("a",), "x", {"v": object()})])
    assert (await store.aget(("a",), "k")).value == {"v": 1}
    assert await store.aget(("a",), "x") is None


async def test_embedding_failure_writes_nothing(make_store: Any) -> None:
    store = await make_store(index=_index(BrokenEmbeddings()))
    await store.aput(("a",), "k", {"text": "fine"})
    with pytest.raises(EmbeddingError, match="Nothing was written"):
        await store.abatch([PutOp(("a",), "k", {"text": "changed"}), PutOp(("a",), "n", {"text": "boom"})])
    assert (await store.aget(("a",), "k")).value == {"text": "fine"}
    assert await store.aget(("a",), "n") is None


async def test_one_embed_call_per_batch_and_no_reembed_when_text_unchanged(make_store: Any, embeddings: WordEmbeddings) -> None:
    store = await make_store(index=_index(embeddings))
    await store.abatch([PutOp(("a",), f"k{i}", {"text": "same words" if i < 3 else f"w{i}"}) for i in range(5)])
    assert embeddings.calls == [["same words", "w3", "w4"]]
    await store.aput(("a",), "k0", {"text": "same words", "extra": 1})
    assert len(embeddings.calls) == 1  # embedded text unchanged: vector reused
    await store.aput(("a",), "k0", {"text": "new words"})
    assert embeddings.calls[-1] == ["new words"]
    hits = await store.asearch(("a",), query="new words", limit=1)
    assert hits[0].key == "k0" and hits[0].score == pytest.approx(1.0, abs=1e-5)


async def test_multi_vector_items_score_by_best_field_and_delete_cleanly(make_store: Any, embeddings: WordEmbeddings, redis_client: Any) -> None:
    store = await make_store(index={"dims": DIMS, "embed": embeddings, "fields": ["a", "b"]}, key_prefix="mv")
    await store.aput(("n",), "x", {"a": "alpha words", "b": "beta words"})
    await store.aput(("n",), "y", {"a": "gamma", "b": "delta"})
    await store.aput(("n",), "x", {"a": "alpha words", "b": "beta words", "c": 1})  # reuses both vectors
    assert len(embeddings.calls) == 2
    assert (await store.asearch(("n",), query="beta words", limit=1))[0].key == "x"
    assert await store.adelete_namespace_prefix(("n",)) == 2
    assert not [k for k in redis_client.keys("mv:i:*")]


async def test_modes_text_vector_hybrid(make_store: Any, embeddings: WordEmbeddings) -> None:
    store = await make_store(index=_index(embeddings))
    await store.aput(("m",), "bm", {"text": "the quarterly report on zebras"})
    await store.aput(("m",), "other", {"text": "a note about lunch"})
    text = await store.asearch(("m",), query="zebras?!", mode="text")
    assert [h.key for h in text] == ["bm"] and 0 < text[0].score < 1
    hybrid = await store.asearch(("m",), query="zebras", mode="hybrid", limit=2)
    assert hybrid[0].key == "bm" and hybrid[0].score == pytest.approx(1.0)
    assert len(await store.asearch(("m",), query="zebras", mode="vector", limit=2)) == 2
    assert await store.asearch(("m",), query='@t:{*} -"(', mode="text") == []
    with pytest.raises(ValueError, match="mode must be"):
        await store.asearch(("m",), query="x", mode="fuzzy")


async def test_batch_modes_rank_each_search_op_and_reject_misuse(make_store: Any, embeddings: WordEmbeddings) -> None:
    store = await make_store(index=_index(embeddings))
    await store.aput(("m",), "bm", {"text": "the quarterly report on zebras"})
    await store.aput(("m",), "other", {"text": "a note about lunch"})
    assert store.search_modes == ("vector", "text", "hybrid")
    op = SearchOp(("m",), query="zebras", limit=2)
    text, vector, default = await store.abatch([op, op, op], modes={0: "text", 1: "vector"})
    assert [h.key for h in text] == ["bm"]  # BM25 matches only the zebra note
    assert len(vector) == 2 and [h.key for h in default] == [h.key for h in vector]
    for modes, match in [({0: "fuzzy"}, "must be 'vector'"), ({1: "text"}, "indexes of SearchOps"),
                         ({5: "text"}, "indexes of SearchOps")]:
        with pytest.raises(ValueError, match=match):
            await store.abatch([op, PutOp(("m",), "new", {"text": "x"})], modes=modes)
    assert await store.aget(("m",), "new") is None
    plain = await make_store(key_prefix="plain")
    assert plain.search_modes == ()
    with pytest.raises(ValueError, match="need a store created with index"):
        await plain.abatch([op], modes={0: "vector"})


def test_sync_batch_modes(redis_url: str, embeddings: WordEmbeddings) -> None:
    with RedisStore.from_conn_string(redis_url, index=_index(embeddings)) as store:
        store.put(("m",), "bm", {"text": "zebras"})
        store.put(("m",), "other", {"text": "lunch"})
        op = SearchOp(("m",), query="zebras")
        text, vector = store.batch([op, op], modes={0: "text", 1: "vector"})
        assert [h.key for h in text] == ["bm"] and len(vector) == 2


async def test_put_index_false_keeps_previous_vectors_as_inmemorystore(make_store: Any, embeddings: WordEmbeddings) -> None:
    index = {"dims": DIMS, "embed": embeddings, "fields": ["a", "b"]}
    store, mem = await make_store(index=index, key_prefix="keep"), InMemoryStore(index=index)  # type: ignore[arg-type]
    for s in (store, mem):
        await s.aput(("n",), "x", {"a": "zebras in the wild", "b": "beta words"})
        await s.aput(("n",), "y", {"a": "a note about lunch", "b": "gamma"})
        await s.aput(("n",), "x", {"a": "something else entirely", "n": 1}, index=False)
    calls = len(embeddings.calls)
    for query in ("zebras in the wild", "beta words"):
        ours, theirs = await store.asearch(("n",), query=query, limit=1), await mem.asearch(("n",), query=query, limit=1)
        assert ours[0].key == theirs[0].key == "x"
        assert ours[0].value == {"a": "something else entirely", "n": 1}
        assert ours[0].score == pytest.approx(theirs[0].score, abs=1e-5) and ours[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.key for h in await store.asearch(("n",), query="zebras", mode="text")] == ["x"]  # BM25 text kept too
    await store.aput(("n",), "x", {"a": "zebras in the wild", "b": "beta words"})  # the kept texts: no re-embed
    assert len(embeddings.calls) == calls
    await store.aput(("n",), "x", {"a": "fresh text"})
    assert embeddings.calls[-1] == ["fresh text"]


async def test_ttl_native_expiry_and_refresh(make_store: Any, redis_client: Any) -> None:
    store = await make_store(ttl={"default_ttl": 10, "refresh_on_read": True}, key_prefix="ttl")
    await store.aput(("t",), "k", {"v": 1})
    await store.aput(("t",), "forever", {"v": 2}, ttl=None)
    (rkey,) = [k for k in redis_client.keys("ttl:i:*") if redis_client.pttl(k) > 0]
    assert 590_000 < redis_client.pttl(rkey) <= 600_000
    redis_client.pexpire(rkey, 5_000)
    assert (await store.aget(("t",), "k")).value == {"v": 1}
    assert redis_client.pttl(rkey) > 590_000  # refreshed on read
    redis_client.pexpire(rkey, 5_000)
    await store.aget(("t",), "k", refresh_ttl=False)
    assert redis_client.pttl(rkey) <= 5_000
    redis_client.delete(rkey)  # what expiry does, without waiting for the clock
    assert [i.key for i in await store.asearch(("t",))] == ["forever"]
    assert store.sweep_ttl() == 0


async def test_compare_and_set(make_store: Any) -> None:
    store = await make_store()
    assert await store.aput_if_version(("c",), "k", {"n": 0}, expected_version=None) == 1
    assert await store.aput_if_version(("c",), "k", {"n": 9}, expected_version=None) is None
    item, version = await store.aget_with_version(("c",), "k")
    assert (item.value, version) == ({"n": 0}, 1)
    assert await store.aput_if_version(("c",), "k", {"n": 1}, expected_version=1) == 2
    assert await store.aput_if_version(("c",), "k", {"n": 5}, expected_version=1) is None
    await store.aput(("c",), "k", {"n": 2})
    assert (await store.aget_with_version(("c",), "k"))[1] == 3
    assert await store.aget_with_version(("c",), "nope") == (None, None)


def test_compare_and_set_loses_no_update_under_threads(redis_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with RedisStore.from_conn_string(redis_url) as store:
        def bump(_: int) -> None:
            while True:
                item, version = store.get_with_version(("c",), "ctr")
                n = item.value["n"] if item else 0
                if store.put_if_version(("c",), "ctr", {"n": n + 1}, expected_version=version) is not None:
                    return

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(bump, range(80)))
        assert store.get(("c",), "ctr").value == {"n": 80}


async def test_setup_is_versioned_and_checks_dims(make_store: Any, redis_client: Any, embeddings: WordEmbeddings) -> None:
    store = await make_store(index=_index(embeddings), key_prefix="ver")
    assert int(redis_client.hget("ver:meta", "version")) == len(MIGRATIONS)
    again = await make_store(index=_index(embeddings), key_prefix="ver")  # idempotent
    assert again.prefix == store.prefix
    with pytest.raises(IncompatibleIndexError, match="32-dimensional"):
        await make_store(index={"dims": 8, "embed": WordEmbeddings(8)}, key_prefix="ver")
    with pytest.raises(ValueError, match="dims"):
        RedisStore(redis_client, index={"dims": 0, "embed": embeddings})


async def test_list_namespaces_semantics(make_store: Any) -> None:
    store = await make_store()
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "x"), ("ab",), ("b", "the", "c")]:
        await store.aput(ns, "k", {"v": json.dumps(ns)})
    assert await store.alist_namespaces(prefix=("a",)) == [("a", "b", "c"), ("a", "b", "d"), ("a", "x")]
    assert await store.alist_namespaces(prefix=("a",), max_depth=2) == [("a", "b"), ("a", "x")]
    assert await store.alist_namespaces(suffix=("the", "c")) == [("b", "the", "c")]
    assert await store.alist_namespaces(prefix=("*", "b")) == [("a", "b", "c"), ("a", "b", "d")]
    assert await store.alist_namespaces(limit=2, offset=3) == [("ab",), ("b", "the", "c")]


@pytest.mark.parametrize("protocol", [2, 3])
def test_both_resp_protocols(redis_url: str, protocol: int, embeddings: WordEmbeddings) -> None:
    client = redis.Redis.from_url(redis_url, protocol=protocol)
    try:
        store = RedisStore(client, index=_index(embeddings), key_prefix=f"resp{protocol}")
        store.put(("p", "q"), "k", {"text": "hello zebra", "n": 2})
        store.put(("p", "r"), "k", {"text": "other", "n": 5}, index=False)
        assert store.get(("p", "q"), "k").value["n"] == 2
        assert [h.key for h in store.search(("p",), query="zebra", mode="text")] == ["k"]
        found = store.search(("p",), query="hello zebra", filter={"n": {"$lt": 9}})
        assert [h.score is None for h in found] == [False, True]
        assert store.list_namespaces() == [("p", "q"), ("p", "r")]
        assert store.delete_namespace_prefix(("p",)) == 2
    finally:
        client.close()


async def test_control_characters_round_trip_and_lone_surrogates_fail_early(make_store: Any) -> None:
    store = await make_store()
    await store.aput(("ns\x01",), "a\x00b", {"t": "x\x00y\u2028", "\x00": 1})
    item = await store.aget(("ns\x01",), "a\x00b")
    assert (item.key, item.value) == ("a\x00b", {"t": "x\x00y\u2028", "\x00": 1})
    assert [i.key for i in await store.asearch((), filter={"\x00": 1})] == ["a\x00b"]
    with pytest.raises(TypeError, match="not valid Unicode"):
        await store.aput(("ns",), "k", {"t": "\ud800"})
    with pytest.raises(ValueError, match="not valid Unicode"):
        await store.aput(("ns",), "\udfff", {"t": 1})
    assert await store.asearch(("ns",)) == []


def test_numeric_paths_beyond_the_cap_are_filtered_in_python(redis_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from langmem_ext.store import base

    monkeypatch.setattr(base, "MAX_NUMERIC_PATHS", 2)
    store = RedisStore(redis_client, key_prefix="cap")
    for i in range(6):
        store.put(("c",), f"k{i}", {f"p{j}": i for j in range(4)})
    assert len(store._numeric) == 2 and store._numeric_full
    hits = store.search(("c",), filter={"p3": {"$gte": 2}, "p0": {"$lt": 5}}, limit=2, offset=1)
    assert sorted(h.key for h in store.search(("c",), filter={"p3": {"$gte": 2}}, limit=10)) == ["k2", "k3", "k4", "k5"]
    assert len(hits) == 2 and all(2 <= h.value["p3"] < 5 for h in hits)
    fresh = RedisStore(redis_client, key_prefix="cap")  # another process learns the same from Redis
    assert len(fresh.search(("c",), filter={"p2": {"$lt": 1}})) == 1


async def test_async_from_conn_string_and_concurrent_cas(redis_url: str) -> None:
    import asyncio

    from langmem_ext.store import AsyncRedisStore

    async with AsyncRedisStore.from_conn_string(redis_url, key_prefix="acas") as store:
        async def bump() -> None:
            while True:
                item, version = await store.aget_with_version(("c",), "ctr")
                n = item.value["n"] if item else 0
                if await store.aput_if_version(("c",), "ctr", {"n": n + 1}, expected_version=version) is not None:
                    return

        await asyncio.gather(*(bump() for _ in range(30)))
        assert (await store.aget(("c",), "ctr")).value == {"n": 30}
        assert store.get(("c",), "ctr").value == {"n": 30}  # sync methods work on the async store too
        assert await store.aput_if_version(("c",), "ctr", None, expected_version=30) == 0  # conditional delete
        assert await store.aget(("c",), "ctr") is None


def test_long_batches_stream_and_survive_a_script_flush(redis_url: str, redis_client: Any, embeddings: WordEmbeddings) -> None:
    """Pipes go through langmem_ext._wire.send_raw in chunks of 128: replies stay in order across
    chunks, a lost script is reloaded once, and a server error in one write raises."""
    n = 2 * 128 + 7
    with RedisStore.from_conn_string(redis_url, index=_index(embeddings)) as store:
        redis_client.script_flush()
        store.batch([PutOp(("s",), f"k{i}", {"text": f"w{i}", "i": i}) for i in range(n)])
        got = store.batch([GetOp(("s",), f"k{i}") for i in range(n)])
        assert [g.value["i"] for g in got] == list(range(n))
        redis_client.set(K.item_key("langmem", ("s",), "k5"), "not a hash")  # WRONGTYPE for the write script
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            store.batch([PutOp(("s",), f"k{i}", {"i": -i}) for i in range(n)])
        assert store.get(("s",), "k6").value == {"text": "w6", "i": 6}  # nothing written; connection usable
