"""The asyncio AsyncRedisSaver: graphs across instances, sync calls, bad input."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import redis
import redis.asyncio as aredis
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

from langmem_ext.checkpoint import (
    AsyncRedisSaver,
    CheckpointConfigError,
    CheckpointSerializationError,
)
from langmem_ext.connection import IncompatibleServerError, RedisUnavailableError

from .test_base import _cfg, _cp


def _graph(saver: AsyncRedisSaver, replies: list[str]) -> Any:
    model = GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))

    async def chat(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    return builder.compile(checkpointer=saver)


async def test_a_conversation_resumes_in_a_new_async_saver(redis_url: str) -> None:
    config = {"configurable": {"thread_id": "async-chat"}}
    async with AsyncRedisSaver.from_conn_string(redis_url) as first:
        await _graph(first, ["hi there"]).ainvoke({"messages": [HumanMessage("hello")]}, config)
    async with AsyncRedisSaver.from_conn_string(redis_url, ttl={"default_ttl": 5}) as second:
        out = await _graph(second, ["again"]).ainvoke({"messages": [HumanMessage("more")]}, config)
        assert [m.content for m in out["messages"]] == ["hello", "hi there", "more", "again"]


async def test_sync_methods_work_from_another_thread_but_not_on_the_loop(redis_url: str) -> None:
    async with AsyncRedisSaver.from_conn_string(redis_url) as saver:
        stored = await saver.aput(_cfg("t"), _cp({"a": 1}, {"a": 1}), {}, {"a": 1})

        def from_worker() -> Any:
            saver.put_writes(stored, [("a", 2)], "task")
            return saver.get_tuple(_cfg("t")), list(saver.list(_cfg("t")))

        latest, listed = await asyncio.to_thread(from_worker)
        assert latest.pending_writes == [("task", "a", 2)] and len(listed) == 1
        with pytest.raises(asyncio.InvalidStateError, match="aget_tuple"):
            saver.get_tuple(_cfg("t"))


async def test_async_bad_input_is_refused_and_nothing_is_written(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with AsyncRedisSaver.from_conn_string(redis_url) as saver:
        schema_only = redis_client.dbsize()
        with pytest.raises(CheckpointConfigError, match="thread_id"):
            await saver.aput({"configurable": {}}, _cp({}, {}), {}, {})
        with pytest.raises(CheckpointSerializationError, match="channel 'x'"):
            await saver.aput(_cfg("t"), _cp({"x": threading.Lock()}, {"x": 1}), {}, {"x": 1})
        assert redis_client.dbsize() == schema_only


async def test_async_server_checks_name_the_cause(closed_port: int) -> None:
    with pytest.raises(RedisUnavailableError, match="Cannot reach Redis"):
        async with AsyncRedisSaver.from_conn_string(
            f"redis://127.0.0.1:{closed_port}", connect_timeout=0.5, retries=0
        ):
            pass


class AsyncReportsOldVersion(aredis.Redis):
    """The real server, with the version in its INFO reply rewritten to a Redis 6 one."""

    async def info(self, *args: Any, **kwargs: Any) -> Any:
        return {**(await super().info(*args, **kwargs)), "redis_version": "6.2.14"}


async def test_a_redis_older_than_7_is_refused_by_the_async_setup(
    redis_url: str, redis_client: redis.Redis
) -> None:
    client = AsyncReportsOldVersion.from_url(redis_url)
    with pytest.raises(IncompatibleServerError, match=r"version 6\.2\.14.*>= 7\.0"):
        await AsyncRedisSaver(client).asetup()
    await client.aclose()
    assert redis_client.dbsize() == 0


def test_sync_calls_fail_fast_when_the_savers_loop_is_not_running(redis_url: str) -> None:
    loop = asyncio.new_event_loop()

    async def make() -> tuple[AsyncRedisSaver, aredis.Redis]:
        client = aredis.Redis.from_url(redis_url)
        return AsyncRedisSaver(client), client

    saver, client = loop.run_until_complete(make())  # the loop has stopped running now
    with pytest.raises(asyncio.InvalidStateError, match="while its event loop runs"):
        saver.get_tuple(_cfg("t"))  # would otherwise wait forever for a loop that never runs
    loop.run_until_complete(client.aclose())
    loop.close()
