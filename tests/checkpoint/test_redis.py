"""The sync RedisSaver: graphs across instances, and every kind of bad input."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command, interrupt

from langmem_ext.checkpoint import CheckpointConfigError, CheckpointSerializationError, RedisSaver
from langmem_ext.connection import IncompatibleServerError, RedisUnavailableError, connect

from .test_base import _cfg, _cp


def _graph(saver: RedisSaver, replies: list[str], *, ask: bool = False) -> Any:
    model = GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))

    def chat(state: MessagesState) -> dict[str, Any]:
        if ask:
            approved = interrupt("send this reply?")
            if approved != "yes":
                return {"messages": [AIMessage("cancelled")]}
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    return builder.compile(checkpointer=saver)


def test_a_conversation_resumes_in_a_new_saver_instance(redis_url: str) -> None:
    config = {"configurable": {"thread_id": "chat:{1}"}}
    with RedisSaver.from_conn_string(redis_url) as first:
        _graph(first, ["hi there"]).invoke({"messages": [HumanMessage("hello")]}, config)
    with RedisSaver.from_conn_string(redis_url) as second:
        out = _graph(second, ["you said hello"]).invoke(
            {"messages": [HumanMessage("what did I say?")]}, config
        )
        assert [m.content for m in out["messages"]] == [
            "hello",
            "hi there",
            "what did I say?",
            "you said hello",
        ]
        history = list(_graph(second, []).get_state_history(config))
        assert len(history) == 6 and history[-1].metadata["source"] == "input"


def test_an_interrupt_is_resumed_by_another_instance(redis_url: str) -> None:
    config = {"configurable": {"thread_id": "approve"}}
    with RedisSaver.from_conn_string(redis_url) as first:
        out = _graph(first, ["draft"], ask=True).invoke(
            {"messages": [HumanMessage("write")]}, config
        )
        assert out["__interrupt__"][0].value == "send this reply?"
    with RedisSaver.from_conn_string(redis_url) as second:
        out = _graph(second, ["final"], ask=True).invoke(Command(resume="yes"), config)
        assert [m.content for m in out["messages"]] == ["write", "final"]


def test_a_config_without_thread_id_is_refused_and_nothing_is_written(
    redis_url: str, redis_client: redis.Redis
) -> None:
    saver = RedisSaver(connect(redis_url))
    for call in (
        lambda: saver.put({"configurable": {}}, _cp({"a": 1}, {"a": 1}), {}, {"a": 1}),
        lambda: saver.get_tuple({}),
        lambda: list(saver.list({"configurable": {"checkpoint_ns": ""}})),
        lambda: saver.put_writes(_cfg("t"), [("a", 1)], "task"),  # no checkpoint_id
    ):
        with pytest.raises(CheckpointConfigError, match="thread_id|checkpoint_id"):
            call()
    assert redis_client.dbsize() == 0


def test_values_the_serializer_cannot_store_leave_the_thread_untouched(
    redis_url: str, redis_client: redis.Redis
) -> None:
    saver = RedisSaver(connect(redis_url))
    stored = saver.put(_cfg("t"), _cp({"a": 1}, {"a": 1}), {}, {"a": 1})
    saver.put_writes(stored, [("a", "ok")], "task")
    before = {k: redis_client.dump(k) for k in redis_client.scan_iter()}
    lock = threading.Lock()
    with pytest.raises(CheckpointSerializationError, match="channel 'b'.*serde="):
        saver.put(stored, _cp({"a": 2, "b": lock}, {"a": 2, "b": 2}), {}, {"a": 2, "b": 2})
    with pytest.raises(CheckpointSerializationError, match="metadata"):
        saver.put(stored, _cp({"a": 2}, {"a": 2}), {"when": lock}, {"a": 2})  # type: ignore[typeddict-item]
    with pytest.raises(CheckpointSerializationError, match="write to channel 'b'"):
        saver.put_writes(stored, [("a", "fine"), ("b", lock)], "task2")
    assert {k: redis_client.dump(k) for k in redis_client.scan_iter()} == before


def test_unreachable_and_non_redis_servers_fail_fast_with_the_fix(
    closed_port: int, not_redis_port: int
) -> None:
    with pytest.raises(RedisUnavailableError, match="Cannot reach Redis.*REDIS_URL"):
        with RedisSaver.from_conn_string(
            f"redis://127.0.0.1:{closed_port}", connect_timeout=0.5, retries=0
        ):
            pass
    with pytest.raises(IncompatibleServerError, match="not as Redis.*port"):
        with RedisSaver.from_conn_string(
            f"redis://127.0.0.1:{not_redis_port}", connect_timeout=0.5, retries=0
        ):
            pass


class ReportsOldVersion(redis.Redis):
    """The real server, with the version in its INFO reply rewritten to a Redis 6 one."""

    def info(self, *args: Any, **kwargs: Any) -> Any:
        return {**super().info(*args, **kwargs), "redis_version": "6.2.14"}


def test_a_redis_older_than_7_is_refused_before_writing(
    redis_url: str, redis_client: redis.Redis
) -> None:
    saver = RedisSaver(ReportsOldVersion.from_url(redis_url))
    with pytest.raises(IncompatibleServerError, match=r"version 6\.2\.14.*>= 7\.0.*Redis 8"):
        saver.setup()
    assert redis_client.dbsize() == 0


def test_bad_options_are_refused_at_construction(redis_url: str) -> None:
    client = connect(redis_url)
    with pytest.raises(CheckpointConfigError, match="decode_responses=False"):
        RedisSaver(redis.Redis.from_url(redis_url, decode_responses=True))
    with pytest.raises(CheckpointConfigError, match="default_ttl"):
        RedisSaver(client, ttl={"default_tll": 5})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(CheckpointConfigError, match="positive number of minutes"):
        RedisSaver(client, ttl={"default_ttl": -1})
    with pytest.raises(CheckpointConfigError, match="braces"):
        RedisSaver(client, key_prefix="app:{x}")


async def test_async_calls_on_the_sync_saver_say_what_to_use(redis_url: str) -> None:
    saver = RedisSaver(connect(redis_url))
    with pytest.raises(NotImplementedError, match="AsyncRedisSaver"):
        await saver.aget_tuple(_cfg("t"))
    with pytest.raises(NotImplementedError, match="AsyncRedisSaver"):
        saver.alist(_cfg("t"))
