from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import empty_checkpoint

from langmem_ext.checkpoint import AsyncRedisSaver, RedisSaver
from langmem_ext.connection import aconnect, connect
from langmem_ext.limits import LimitExceededError, Limits, check_limit, utf8_len


def test_defaults_are_the_proposed_limits():
    assert Limits() == Limits(value_bytes=2**20, indexed_text_bytes=32 * 2**10, namespace_labels=16,
                              label_chars=256, key_bytes=2**10, query_bytes=4 * 2**10, message_bytes=2**20,
                              memory_bytes=4 * 2**10)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True])
def test_a_limit_must_be_a_positive_int_or_none(bad):
    with pytest.raises(ValueError, match="Limits.key_bytes must be a positive int or None"):
        Limits(key_bytes=bad)


def test_limits_are_keyword_only_and_frozen():
    with pytest.raises(TypeError):
        Limits(10)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Limits().key_bytes = 5  # type: ignore[misc]


def test_the_error_names_the_limit_the_size_and_the_fix():
    with pytest.raises(LimitExceededError) as info:
        check_limit(Limits(value_bytes=2**20), "value_bytes", 2**20 + 1, what="The value", owner="RedisStore",
                    fix="Store a reference.")
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.limit, err.size, err.maximum) == ("value_bytes", 2**20 + 1, 2**20)
    assert "1,048,577 bytes" in str(err) and "value_bytes=1,048,576 (1 MiB)" in str(err)
    assert "Store a reference." in str(err) and "RedisStore(..., limits=Limits(value_bytes=...))" in str(err)
    check_limit(Limits(value_bytes=2**20), "value_bytes", 2**20, what="The value")  # at the limit: fine
    check_limit(None, "value_bytes", 2**40, what="The value")  # no limits at all


def test_utf8_len_counts_bytes_not_characters():
    assert utf8_len("é" * 10) == 20
    assert utf8_len("\ud800") == 1  # a lone surrogate does not raise


def _write(saver, size: int):
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    cp = empty_checkpoint()
    return saver.put_writes(saver.put(config, cp, {}, {}), [("messages", [HumanMessage("x" * size, id="m")])], "task")


def test_savers_default_to_a_1_mib_message_limit_and_take_limits(redis_url):
    client = connect(redis_url)
    default = RedisSaver(client)
    assert default.max_message_bytes == 2**20
    with pytest.raises(ValueError, match="message_bytes"):
        _write(default, 2**20 + 1)
    assert default.get_tuple({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}).pending_writes == []
    _write(RedisSaver(client, limits=Limits(message_bytes=None)), 2**20 + 1)  # disabled
    with pytest.raises(ValueError, match="limit"):
        _write(RedisSaver(client, limits=Limits(message_bytes=100)), 101)
    assert RedisSaver(client, limits=Limits(message_bytes=100), max_message_bytes=500).max_message_bytes == 500
    with pytest.raises(ValueError, match="Limits"):
        RedisSaver(client, limits={"message_bytes": 5})  # type: ignore[arg-type]
    client.close()


async def test_async_saver_takes_limits(redis_url):
    client = aconnect(redis_url)
    assert AsyncRedisSaver(client).max_message_bytes == 2**20
    assert AsyncRedisSaver(client, limits=Limits(message_bytes=None)).max_message_bytes is None
    assert AsyncRedisSaver(client, limits=Limits(message_bytes=7)).max_message_bytes == 7
    await client.aclose()
