"""delete_thread, copy_thread, prune, delete_for_runs and purge_messages on real Redis."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import ERROR
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import START, MessagesState, StateGraph
from redis.crc import key_slot

from langmem_ext.checkpoint import CheckpointConfigError, RedisSaver
from langmem_ext.checkpoint._keys import thread_keys
from langmem_ext.connection import connect

from .test_base import _cfg, _cp

SECRETS = (b"SECRET-PASSPORT-4242", b"SECRET-REPLY-777")


def _thread_keys_present(client: redis.Redis, thread: str) -> set[bytes]:
    return {
        k
        for k in client.scan_iter()
        if k in {x.encode() for x in thread_keys("langmem:cp", thread)}
    }


def _every_stored_byte(client: redis.Redis) -> list[bytes]:
    """Each key's name, its DUMP and its raw contents (DUMP may be LZF-compressed)."""
    out = []
    for key in client.scan_iter():
        kind = client.type(key)
        out += [key, client.dump(key)]
        if kind == b"string":
            out.append(client.get(key))
        elif kind == b"hash":
            out += [x for kv in client.hgetall(key).items() for x in kv]
        elif kind == b"zset":
            out += client.zrange(key, 0, -1)
        elif kind == b"set":
            out += list(client.smembers(key))
        else:
            out += client.lrange(key, 0, -1)
    return out


async def _history(saver: Any, thread: str, n: int = 3, ns: str = "") -> list[dict[str, Any]]:
    stored, parent = [], None
    for i in range(n):
        cfg = parent or _cfg(thread, ns)
        values = {"step": i, "big": f"value-{i}"}
        parent = await saver.aput(cfg, _cp(values, {"step": i + 1, "big": i + 1}), {"run_id": f"run-{i}"},
                                  {"step": i + 1, "big": i + 1})  # fmt: skip
        await saver.aput_writes(parent, [("step", f"w{i}")], f"task{i}")
        stored.append(parent)
    return stored


async def test_delete_thread_removes_every_key_of_that_thread_only(
    saver: Any, redis_client: redis.Redis
) -> None:
    await _history(saver, "gone")
    await _history(saver, "gone", ns="child:1")
    await _history(saver, "kept")
    await saver.adelete_thread("gone")
    assert not _thread_keys_present(redis_client, "gone")
    assert len(_thread_keys_present(redis_client, "kept")) == 7
    assert redis_client.zscore("langmem:cp:threads", "gone") is None
    assert not any(
        redis_client.sismember(k, "gone") for k in redis_client.scan_iter("langmem:cp:run:*")
    )
    assert len([t async for t in saver.alist(_cfg("kept"))]) == 3


async def test_copy_thread_carries_history_writes_and_parents(
    saver: Any, redis_client: redis.Redis
) -> None:
    await _history(saver, "src")
    await _history(saver, "src", n=2, ns="inner|{ns}")
    await saver.acopy_thread("src", "dst")
    await saver.adelete_thread("src")
    for ns, n in (("", 3), ("inner|{ns}", 2)):
        got = [t async for t in saver.alist(_cfg("dst", ns))]
        assert len(got) == n
        assert got[0].checkpoint["channel_values"] == {"step": n - 1, "big": f"value-{n - 1}"}
        assert got[0].pending_writes == [(f"task{n - 1}", "step", f"w{n - 1}")]
        assert got[0].parent_config["configurable"] == {**got[1].config["configurable"]}
        assert got[0].config["configurable"]["thread_id"] == "dst"
    assert len({key_slot(k) for k in _thread_keys_present(redis_client, "dst")}) == 1
    await saver.adelete_for_runs(["run-0"])  # the run registry now names the copy too
    assert len([t async for t in saver.alist(_cfg("dst"))]) == 2


async def test_prune_keep_latest_leaves_no_orphan_blobs_or_writes(
    saver: Any, redis_client: redis.Redis
) -> None:
    await _history(saver, "t", n=4)
    await _history(saver, "t", n=2, ns="child")
    await saver.aprune(["t"], strategy="keep_latest")
    keys = thread_keys("langmem:cp", "t")
    assert redis_client.zcard(keys.idx) == 2
    assert redis_client.hlen(keys.blobs) == 4  # two channels for each surviving checkpoint
    assert redis_client.hlen(keys.writes) == redis_client.zcard(keys.widx) == 2
    assert redis_client.zcard(keys.ridx) == 2
    latest = await saver.aget_tuple(_cfg("t"))
    assert latest.checkpoint["channel_values"] == {"step": 3, "big": "value-3"}
    assert latest.pending_writes == [("task3", "step", "w3")]


async def test_bad_maintenance_arguments_are_refused_before_any_change(
    saver: Any, redis_client: redis.Redis
) -> None:
    await _history(saver, "t")
    before = {k: redis_client.dump(k) for k in redis_client.scan_iter()}
    with pytest.raises(CheckpointConfigError, match="keep_latest"):
        await saver.aprune(["t"], strategy="keep_oldest")
    with pytest.raises(CheckpointConfigError, match="list"):
        await saver.aprune("t")
    with pytest.raises(CheckpointConfigError, match="list of message id"):
        await saver.apurge_messages("t", "m1")
    with pytest.raises(CheckpointConfigError, match="different"):
        await saver.acopy_thread("t", "t")
    assert {k: redis_client.dump(k) for k in redis_client.scan_iter()} == before


def _chat_graph(saver: Any, replies: list[str]) -> Any:
    model = GenericFakeChatModel(
        messages=iter([AIMessage(r, id=f"reply-{i}") for i, r in enumerate(replies)])
    )

    async def chat(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    inner = StateGraph(MessagesState)
    inner.add_node("chat", chat)
    inner.add_edge(START, "chat")
    outer = StateGraph(MessagesState)
    outer.add_node("agent", inner.compile())  # a subgraph: checkpoints in a child namespace too
    outer.add_edge(START, "agent")
    return outer.compile(checkpointer=saver)


async def test_purge_messages_erases_them_everywhere_and_the_thread_resumes(
    saver: Any, redis_client: redis.Redis
) -> None:
    graph = _chat_graph(saver, ["noted SECRET-REPLY-777", "hello back", "still here"])
    config = {"configurable": {"thread_id": "user-1"}}
    await graph.ainvoke(
        {"messages": [HumanMessage("my passport is SECRET-PASSPORT-4242", id="secret")]}, config
    )
    await graph.ainvoke({"messages": [HumanMessage("hello again", id="keep")]}, config)
    namespaces = {
        t.config["configurable"]["checkpoint_ns"]
        async for t in saver.alist({"configurable": {"thread_id": "user-1"}})
    }
    assert len(namespaces) > 1  # the subgraph wrote checkpoints of its own
    assert all(any(s in b for b in _every_stored_byte(redis_client)) for s in SECRETS)

    removed = await saver.apurge_messages("user-1", ["secret", "reply-0"])

    assert removed > 2
    assert not any(s in b for b in _every_stored_byte(redis_client) for s in SECRETS)
    state = await graph.aget_state(config)
    assert [m.content for m in state.values["messages"]] == ["hello again", "hello back"]
    result = await graph.ainvoke({"messages": [HumanMessage("and now?", id="next")]}, config)
    assert [m.content for m in result["messages"]] == [
        "hello again",
        "hello back",
        "and now?",
        "still here",
    ]
    assert await saver.apurge_messages("user-1", ["secret"]) == 0


async def test_purge_also_erases_the_copies_sent_without_an_id(
    saver: Any, redis_client: redis.Redis
) -> None:
    graph = _chat_graph(saver, ["one", "two", "three", "four"])
    config = {"configurable": {"thread_id": "no-ids"}}
    for sent in (
        [("user", "tuple SECRET-PASSPORT-4242")],
        [{"role": "user", "content": "dict SECRET-REPLY-777"}],
        [HumanMessage("object SECRET-PASSPORT-4242 too")],
        ["a plain keep"],
    ):
        await graph.ainvoke({"messages": sent}, config)
    messages = (await graph.aget_state(config)).values["messages"]
    doomed = [m.id for m in messages if "SECRET" in m.content]
    assert len(doomed) == 3 and all(
        any(s in b for b in _every_stored_byte(redis_client)) for s in SECRETS
    )

    await saver.apurge_messages("no-ids", doomed)

    assert not any(s in b for b in _every_stored_byte(redis_client) for s in SECRETS)
    assert any(b"a plain keep" in b for b in _every_stored_byte(redis_client))
    left = (await graph.aget_state(config)).values["messages"]
    assert [m.content for m in left] == ["one", "two", "three", "a plain keep", "four"]


class _Meddler(JsonPlusSerializer):
    """A serializer that, while purge reads the thread, lets another client write to it.

    Each disturbance overwrites one pending write (an ERROR-channel write), so the thread
    does not grow, yet every WATCH on it is broken.
    """

    def __init__(self, url: str, times: int) -> None:
        super().__init__()
        self.other, self.times, self.target = RedisSaver(connect(url)), times, None

    def loads_typed(self, data: Any) -> Any:
        if self.target and self.times > 0:
            self.times -= 1
            secret = HumanMessage("late SECRET-PASSPORT-4242", id="secret")
            self.other.put_writes(self.target, [(ERROR, [secret])], "late")
        return super().loads_typed(data)


@pytest.mark.parametrize("times", [1, 10_000])
def test_purge_retries_when_the_thread_changes_underneath_and_then_gives_up(
    redis_url: str, redis_client: redis.Redis, times: int
) -> None:
    serde = _Meddler(redis_url, times)
    saver = RedisSaver(connect(redis_url), serde=serde)
    cp = _cp({"messages": [HumanMessage("SECRET-PASSPORT-4242", id="secret")]}, {"messages": 1})
    serde.target = saver.put(_cfg("busy"), cp, {}, {"messages": 1})
    if times == 1:  # one concurrent write: retried, and the late copy is purged as well
        assert saver.purge_messages("busy", ["secret"]) == 2
        assert not any(SECRETS[0] in b for b in _every_stored_byte(redis_client))
    else:  # the thread never settles: give up, having changed nothing of ours
        blobs = thread_keys("langmem:cp", "busy").blobs
        before = redis_client.hgetall(blobs)
        with pytest.raises(RuntimeError, match="retry when the thread is idle"):
            saver.purge_messages("busy", ["secret"])
        assert redis_client.hgetall(blobs) == before
