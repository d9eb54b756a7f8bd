"""Behaviour shared by both savers (base.py), on the real embedded Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.base import ERROR, INTERRUPT, CheckpointTuple
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver

from langmem_ext.checkpoint import AsyncRedisSaver, CheckpointConfigError, RedisSaver
from langmem_ext.checkpoint._keys import thread_keys
from langmem_ext.checkpoint._maintenance import SCHEMA_VERSION
from langmem_ext.connection import IncompatibleServerError, aconnect, connect


def _cp(values: dict[str, Any], versions: dict[str, Any], cid: str | None = None) -> dict[str, Any]:
    return {
        "v": 1, "id": cid or str(uuid6()), "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": values, "channel_versions": versions, "versions_seen": {},
        "pending_sends": [], "updated_channels": None,
    }  # fmt: skip


def _cfg(thread: str, ns: str = "", cid: str | None = None) -> dict[str, Any]:
    conf = {"thread_id": thread, "checkpoint_ns": ns}
    if cid:
        conf["checkpoint_id"] = cid
    return {"configurable": conf}


def _norm(t: CheckpointTuple | None) -> Any:
    if t is None:
        return None
    conf = t.config["configurable"]
    parent = t.parent_config["configurable"]["checkpoint_id"] if t.parent_config else None
    return (
        (conf["thread_id"], conf.get("checkpoint_ns", ""), conf["checkpoint_id"]),
        t.checkpoint, t.metadata, parent, t.pending_writes,
    )  # fmt: skip


# -- differential test: our savers against LangGraph's InMemorySaver -------------------

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"), st.sampled_from(["", "child:1", "a|b{c}"]),
            st.dictionaries(st.sampled_from(["x", "y", "msgs"]), st.integers(0, 9), max_size=3),
            st.sampled_from(["input", "loop"]), st.integers(0, 3),
        ),
        st.tuples(
            st.just("writes"), st.integers(0, 50),
            st.lists(st.tuples(st.sampled_from(["x", "ch", ERROR, INTERRUPT]), st.integers(-999, 999)),
                     min_size=1, max_size=3),
            st.sampled_from(["t1", "t2:{x}"]), st.sampled_from(["", "~a", "~b"]),
        ),
    ),
    min_size=1, max_size=12,
)  # fmt: skip


def _apply(saver: Any, script: list[tuple[Any, ...]], thread: str) -> None:
    """Run one generated script against a sync-API saver (ids and versions fixed by us)."""
    latest: dict[str, dict[str, Any]] = {}
    stored: list[dict[str, Any]] = []
    counter = 0
    for step, op in enumerate(script):
        if op[0] == "put":
            _, ns, values, source, score = op
            prev = latest.get(ns)
            versions = dict(prev["versions"]) if prev else {}
            new_versions = {}
            for ch in values:
                counter += 1
                versions[ch] = new_versions[ch] = f"{counter:032}.5"
            all_values = {**(prev["values"] if prev else {}), **values}
            cp = _cp(all_values, versions, cid=script_ids[thread][step])
            cfg = _cfg(thread, ns, prev["id"] if prev else None)
            saver.put(cfg, cp, {"source": source, "step": step, "score": score}, new_versions)
            latest[ns] = {"versions": versions, "values": all_values, "id": cp["id"]}
            stored.append(_cfg(thread, ns, cp["id"]))
        elif stored:
            _, pick, writes, task, path = op
            saver.put_writes(stored[pick % len(stored)], writes, task, path)


script_ids: dict[str, list[str]] = {}


def _observe(saver: Any, thread: str) -> list[Any]:
    seen: list[Any] = []
    for ns in ["", "child:1", "a|b{c}", "a"]:
        seen.append(_norm(saver.get_tuple(_cfg(thread, ns))))
        tuples = list(saver.list(_cfg(thread, ns)))
        seen.append([_norm(t) for t in tuples])
        for t in tuples[:3]:
            seen.append(_norm(saver.get_tuple(t.config)))
            seen.append([_norm(x) for x in saver.list(_cfg(thread, ns), before=t.config, limit=2)])
            flt = {"source": t.metadata["source"]}
            seen.append(
                [_norm(x) for x in saver.list(_cfg(thread, ns), before=t.config, filter=flt)]
            )
            anywhere = {"configurable": {"thread_id": thread}}
            seen.append(sorted(repr(_norm(x)) for x in saver.list(anywhere, before=t.config)))
        for flt in ({"source": "input"}, {"score": 2, "source": "loop"}):
            seen.append([_norm(x) for x in saver.list(_cfg(thread, ns), filter=flt, limit=3)])
    every = list(saver.list({"configurable": {"thread_id": thread}}))
    seen.append(sorted(repr(_norm(t)) for t in every))
    return seen


class _AsyncAsSync:
    """Drive an AsyncRedisSaver from a sync test on a private event loop."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = aconnect(url)
        self.saver = AsyncRedisSaver(self.client)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.saver, "a" + name)
        if name == "list":

            async def collect(*a: Any, **k: Any) -> list[Any]:
                return [x async for x in method(*a, **k)]

            return lambda *a, **k: self.loop.run_until_complete(collect(*a, **k))
        return lambda *a, **k: self.loop.run_until_complete(method(*a, **k))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture
def three_savers(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from langmem_ext.checkpoint import base

    monkeypatch.setattr(base, "_PAGE", 2)  # tiny pages: every listing crosses page boundaries
    monkeypatch.setattr(base, "_SCAN", 3)
    client = connect(redis_url)
    async_side = _AsyncAsSync(redis_url)
    yield InMemorySaver(), RedisSaver(client), async_side
    async_side.close()
    client.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=ops)
def test_same_answers_as_inmemory_saver(three_savers: Any, script: list[Any]) -> None:
    reference, sync_saver, async_saver = three_savers
    thread = f"t:{{{uuid6()}}}|é"
    script_ids[thread] = [str(uuid6()) for _ in script]
    _apply(reference, script, thread)
    expected = _observe(reference, thread)
    for kind, saver in (("sync", sync_saver), ("async", async_saver)):
        other = f"{thread}-{kind}"
        script_ids[other] = script_ids[thread]
        _apply(saver, script, other)
        got = _observe(saver, other)
        assert repr(got).replace(other, thread) == repr(expected), kind


# -- specific behaviour, both savers --------------------------------------------------


async def test_awkward_thread_ids_and_namespaces_stay_apart(saver: Any) -> None:
    names = ["a", "a|b", "a:b", "{a}", "a}", "é\n%7C", ""]
    for name in names:
        for ns in names:
            await saver.aput(
                _cfg(name, ns), _cp({"v": [name, ns]}, {"v": 1}), {"step": 1}, {"v": 1}
            )
    for name in names:
        for ns in names:
            t = await saver.aget_tuple(_cfg(name, ns))
            assert t.checkpoint["channel_values"] == {"v": [name, ns]}
            assert [
                x.checkpoint["channel_values"]["v"] async for x in saver.alist(_cfg(name, ns))
            ] == [[name, ns]]
        everything = [x async for x in saver.alist({"configurable": {"thread_id": name}})]
        assert len(everything) == len(names)


async def test_unchanged_channels_are_stored_once(saver: Any, redis_client: redis.Redis) -> None:
    first = await saver.aput(
        _cfg("t"), _cp({"a": 1, "b": "big"}, {"a": 1, "b": 1}), {}, {"a": 1, "b": 1}
    )
    second = _cp({"a": 2, "b": "big"}, {"a": 2, "b": 1})
    await saver.aput(first, second, {}, {"a": 2})
    assert redis_client.hlen(thread_keys("langmem:cp", "t").blobs) == 3
    latest = await saver.aget_tuple(_cfg("t"))
    assert latest.checkpoint["channel_values"] == {"a": 2, "b": "big"}
    assert (
        latest.parent_config["configurable"]["checkpoint_id"]
        == first["configurable"]["checkpoint_id"]
    )


async def test_retried_puts_and_writes_change_nothing(
    saver: Any, redis_client: redis.Redis
) -> None:
    cp = _cp({"a": 1}, {"a": 1})
    stored = await saver.aput(_cfg("t"), cp, {"step": 0}, {"a": 1})
    await saver.aput_writes(stored, [("a", "first"), (ERROR, "boom")], "task")
    snapshot = {k: redis_client.dump(k) for k in redis_client.scan_iter()}
    await saver.aput(_cfg("t"), cp, {"step": 0}, {"a": 1})  # a retry after a dropped reply
    await saver.aput_writes(stored, [("a", "first"), (ERROR, "boom")], "task")
    assert {k: redis_client.dump(k) for k in redis_client.scan_iter()} == snapshot
    await saver.aput_writes(stored, [("a", "second"), (ERROR, "again")], "task")
    writes = (await saver.aget_tuple(stored)).pending_writes
    assert writes == [("task", ERROR, "again"), ("task", "a", "first")]  # overwrite / keep-first


async def test_ttl_covers_every_key_and_is_refreshed_on_read_only_when_asked(
    make_saver: Any, redis_client: redis.Redis
) -> None:
    for refresh in (True, False):
        thread = f"ttl-{refresh}"
        saver = await make_saver(ttl={"default_ttl": 2, "refresh_on_read": refresh})
        stored = await saver.aput(_cfg(thread), _cp({"a": 1}, {"a": 1}), {"run_id": "r"}, {"a": 1})
        await saver.aput_writes(stored, [("a", 1)], "task")
        keys = thread_keys("langmem:cp", thread)
        assert all(100 < redis_client.ttl(k) <= 120 for k in keys)
        for k in keys:
            redis_client.expire(k, 5)
        assert (await saver.aget_tuple(_cfg(thread))) is not None
        assert all((redis_client.ttl(k) > 100) == refresh for k in keys)


async def test_list_without_config_spans_threads_and_respects_limit(saver: Any) -> None:
    for thread in ("one", "two", "three"):
        await saver.aput(_cfg(thread), _cp({}, {}), {"owner": thread}, {})
    assert {t.metadata["owner"] async for t in saver.alist(None)} == {"one", "two", "three"}
    assert len([t async for t in saver.alist(None, limit=2)]) == 2
    assert [t.metadata["owner"] async for t in saver.alist(None, filter={"owner": "two"})] == [
        "two"
    ]


async def test_setup_is_idempotent_and_refuses_newer_data(
    make_saver: Any, redis_client: redis.Redis
) -> None:
    await make_saver()
    await make_saver()
    assert int(redis_client.get("langmem:cp:schema")) == SCHEMA_VERSION
    redis_client.set("langmem:cp:schema", SCHEMA_VERSION + 1)
    with pytest.raises(IncompatibleServerError, match="newer langmem-ext"):
        await make_saver()


def test_versions_increase_as_strings(redis_client: redis.Redis) -> None:
    saver = RedisSaver(redis_client)
    versions = [None]
    for _ in range(12):
        versions.append(saver.get_next_version(versions[-1], None))
    assert versions[1:] == sorted(versions[1:]) and len(set(versions)) == 13
    assert saver.get_next_version(41, None).startswith("0" * 30 + "42.")


async def test_a_thread_deleted_elsewhere_and_rewritten_is_listed_again(make_saver: Any) -> None:
    writer, other = await make_saver(), await make_saver()
    await writer.aput(_cfg("t"), _cp({}, {}), {"n": 1}, {})
    await other.adelete_thread("t")
    assert [t async for t in writer.alist(None)] == []
    await writer.aput(_cfg("t"), _cp({}, {}), {"n": 2}, {})  # writer still believes "t" registered
    assert [t.metadata["n"] async for t in other.alist(None)] == [2]


async def test_scripts_flushed_from_the_server_are_reloaded_transparently(
    make_saver: Any, redis_client: redis.Redis
) -> None:
    saver = await make_saver()
    for round_ in range(2):  # first put pipelines the registry ZADD, the second is one EVALSHA
        redis_client.script_flush()
        stored = await saver.aput(
            _cfg("t"), _cp({"a": round_}, {"a": round_ + 1}), {}, {"a": round_ + 1}
        )
        redis_client.script_flush()
        assert (await saver.aget_tuple(stored)).checkpoint["channel_values"] == {"a": round_}
    assert len([t async for t in saver.alist(_cfg("t"))]) == 2


async def test_oversized_messages_are_refused_when_a_limit_is_set(
    make_saver: Any, redis_client: redis.Redis
) -> None:
    from langchain_core.messages import HumanMessage

    from langmem_ext.checkpoint import CheckpointTooLargeError

    saver = await make_saver(max_message_bytes=1024)
    ok = [HumanMessage("é" * 100, id="ok")]
    stored = await saver.aput(_cfg("t"), _cp({"messages": ok}, {"messages": 1}), {}, {"messages": 1})
    before = {k: redis_client.dump(k) for k in redis_client.scan_iter()}
    huge = HumanMessage([{"type": "text", "text": "é" * 600}], id="huge")  # 1,200 + "text"
    with pytest.raises(CheckpointTooLargeError, match=r"id .huge.*1,204 bytes.*limit of 1,024"):
        await saver.aput(stored, _cp({"messages": ok + [huge]}, {"messages": 2}), {}, {"messages": 2})
    with pytest.raises(CheckpointTooLargeError, match="max_message_bytes"):
        await saver.aput_writes(stored, [("messages", "fine"), ("messages", {"m": [huge]})], "task")
    assert {k: redis_client.dump(k) for k in redis_client.scan_iter()} == before
    unlimited = await make_saver()
    await unlimited.aput(stored, _cp({"messages": [huge]}, {"messages": 2}), {}, {"messages": 2})
    with pytest.raises(CheckpointConfigError, match="positive int"):
        await make_saver(max_message_bytes=0)
