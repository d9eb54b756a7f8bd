"""Erasure leaves no trace: SCAN every key, byte-search every DUMP and the rewritten AOF.

Each test first proves the secret *is* found (so the search can fail), then erases
and searches again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis
from langchain_core.messages import HumanMessage

from langmem_ext.server import EmbeddedRedis
from tests.reliability._backends import make_saver, make_store
from tests.reliability._chat_graph import build_graph, config, contents, human
from tests.reliability._forensics import aof_traces, traces

SECRET = "SSN-078-05-1120-zebra"


def _converse(graph: Any, thread: str) -> None:
    graph.invoke({"messages": [human(thread, 0)]}, config(thread))
    graph.invoke({"messages": [HumanMessage(f"my number is {SECRET}", id="secret-1")]}, config(thread))
    graph.invoke({"messages": [human(thread, 2)]}, config(thread))


def _secret_ids(graph: Any, thread: str) -> list[str]:
    messages = graph.get_state(config(thread)).values["messages"]
    return [m.id for m in messages if SECRET in str(m.content)]  # the user's and the echo


def _rewrite_aof(client: redis.Redis) -> None:
    client.config_set("rdbcompression", "no")
    client.bgrewriteaof()
    for _ in range(500):  # bounded: 500 x 20 ms
        info = client.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return
        time.sleep(0.02)
    raise AssertionError("AOF rewrite did not finish")


def test_purge_messages_leaves_no_trace_in_keys_dumps_or_aof(tmp_path: Path) -> None:
    server = EmbeddedRedis(data_dir=tmp_path, appendfsync="always").start()
    try:
        client = redis.Redis.from_url(server.url)
        saver = make_saver(server.url)
        graph = build_graph(saver)
        _converse(graph, "victim")
        _converse(graph, "bystander")
        assert traces(client, SECRET.encode())  # control: the secret is there to find
        ids = _secret_ids(graph, "victim")
        assert len(ids) == 2

        saver.purge_messages("victim", ids)

        leftover = [k for k in traces(client, SECRET.encode())]
        assert all("victim" not in k for k in leftover), leftover
        state = graph.get_state(config("victim"))
        assert SECRET not in " ".join(contents(state.values["messages"]))
        for snapshot in graph.get_state_history(config("victim")):
            assert SECRET not in " ".join(contents(snapshot.values.get("messages", [])))
        assert contents(graph.get_state(config("bystander")).values["messages"])[2].endswith(SECRET)
        graph.invoke({"messages": [human("victim", 3)]}, config("victim"))  # the thread still works

        saver.purge_messages("bystander", _secret_ids(graph, "bystander"))
        assert traces(client, SECRET.encode()) == []
        _rewrite_aof(client)
        assert aof_traces(tmp_path, SECRET.encode()) == []
        client.close()
    finally:
        server.stop()


def test_delete_thread_leaves_no_key(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    saver = make_saver(redis_url)
    graph = build_graph(saver)
    _converse(graph, "gone")
    saver.delete_thread("gone")
    assert traces(client, SECRET.encode()) == []
    assert traces(client, b"gone") == []
    client.close()


def test_purge_messages_erases_a_message_sent_without_an_id(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    graph = build_graph(make_saver(redis_url))
    graph.invoke({"messages": [("user", f"my number is {SECRET}")]}, config("noid"))
    ids = [m.id for m in graph.get_state(config("noid")).values["messages"] if SECRET in str(m.content)]
    assert traces(client, SECRET.encode())
    make_saver(redis_url).purge_messages("noid", ids)
    assert traces(client, SECRET.encode()) == []
    client.close()


def _memory_store(url: str) -> Any:
    from langmem_ext.long_term.testing import HASH_DIMS, hash_embed

    return make_store(url, index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]})


def test_forget_user_leaves_no_trace_and_spares_other_users(redis_url: str) -> None:
    from langchain_core.messages import HumanMessage as Human

    from langmem_ext.long_term import RecallNode, SemanticMemory, forget_user, put_memories

    client = redis.Redis.from_url(redis_url)
    store = _memory_store(redis_url)
    for user in ("victim", "bystander"):
        put_memories(store, ("memories", user, "semantic"), [SemanticMemory(content=f"{user} number {SECRET}")])
        RecallNode(store=store, reinforce="inline").recall(  # writes the access-stats sidecar too
            [Human(f"number {SECRET}")], config={"configurable": {"user_id": user}}
        )
    assert any("victim" in str(ns) for ns in store.list_namespaces(prefix=("memories",)))
    assert traces(client, b"victim number")  # control

    deleted = forget_user(store, ("memories", "victim"))

    assert deleted >= 2  # the memory and its access statistics
    assert traces(client, b"victim number") == []
    assert all("victim" not in ns for ns in store.list_namespaces(prefix=("memories",)))
    assert store.search(("memories", "victim"), query=SECRET) == []
    assert [i.value["content"] for i in store.search(("memories", "bystander", "semantic"))] == [
        f"bystander number {SECRET}"
    ]
    client.close()


def test_forget_user_with_a_star_user_id_erases_only_that_user() -> None:
    from langgraph.store.memory import InMemoryStore

    from langmem_ext.long_term import SemanticMemory, forget_user, put_memories

    store = InMemoryStore()
    for user in ("*", "alice", "bob"):
        put_memories(store, ("memories", user, "semantic"), [SemanticMemory(content=f"{user} fact")], index=False)
    try:
        forget_user(store, ("memories", "*"))
    except ValueError:
        pass  # refusing a wildcard user id is a fine answer too
    left = sorted(i.value["content"] for i in store.search(("memories",), limit=10))
    assert {"alice fact", "bob fact"} <= set(left)
