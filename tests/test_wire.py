"""The raw command path shared by the checkpointer and the store."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio

from langmem_ext._wire import CHUNK, asend_raw, send_raw


def test_replies_in_order_across_chunks_with_errors_as_values(redis_client: redis.Redis) -> None:
    redis_client.set("w:str", "x")
    cmds = [("INCR", "w:n") for _ in range(CHUNK + 5)] + [("HGET", "w:str", "f"), ("GET", "w:n")]
    replies = send_raw(redis_client, cmds)
    assert replies[: CHUNK + 5] == list(range(1, CHUNK + 6))
    assert isinstance(replies[-2], redis.ResponseError) and "WRONGTYPE" in str(replies[-2])
    assert replies[-1] == str(CHUNK + 5).encode()  # raw bytes: no response callbacks


def test_only_plain_pooled_clients_take_the_raw_path(redis_url: str) -> None:
    single = redis.Redis.from_url(redis_url, single_connection_client=True)
    try:
        assert send_raw(single, [("PING",)]) is None
    finally:
        single.close()


def _half_sent() -> list[tuple[object, ...]]:
    """A first chunk that gets sent, then a command that cannot be packed (fails mid-send)."""
    return [("INCR", "w:n")] * CHUNK + [("SET", "w:k", object())]


def test_a_call_that_fails_mid_send_never_leaves_replies_for_the_next_caller(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, max_connections=1)  # one connection, reused
    try:
        with pytest.raises(Exception):
            send_raw(client, _half_sent())
        assert send_raw(client, [("PING",)]) == [b"PONG"]  # not the first INCR's reply
    finally:
        client.close()


async def test_async_call_that_fails_mid_send_never_leaves_replies(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, max_connections=1)
    try:
        with pytest.raises(Exception):
            await asend_raw(client, _half_sent())
        assert await asend_raw(client, [("PING",)]) == [b"PONG"]
    finally:
        await client.aclose()
