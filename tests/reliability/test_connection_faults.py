"""Connections under faults: bounded retries with backoff, no hangs, clear errors.

Each fault is real: a proxy that cuts or swallows traffic, or a server killed
with SIGKILL. Hang limits (``within``) are liveness checks ten times above the
configured timeouts, not speed thresholds.
"""

from __future__ import annotations

import pytest
import redis
from redis.backoff import ExponentialBackoff

from langmem_ext.connection import (
    RedisUnavailableError,
    acheck_server,
    aconnect,
    check_server,
    connect,
)
from langmem_ext.server import EmbeddedRedis
from tests.reliability._proxy import FaultProxy
from tests.reliability._watchdog import awithin, within


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_retries_are_bounded(proxy: FaultProxy, retries: int) -> None:
    client = connect(proxy.url, connect_timeout=0.5, socket_timeout=0.5, retries=retries)
    client.ping()
    proxy.cut_request(b"SET", times=50)
    outcome = within(30, lambda: client.set("k", "v"))
    assert isinstance(outcome, redis.ConnectionError)
    assert proxy.faults_fired == 1 + retries  # one try plus exactly `retries` more
    client.close()


def test_retries_back_off_exponentially_to_a_cap(redis_url: str) -> None:
    retry = connect(redis_url, retries=3).get_retry()
    backoff = retry._backoff  # redis-py keeps the policy here
    assert isinstance(backoff, ExponentialBackoff)
    delays = [backoff.compute(n) for n in range(12)]
    assert delays == sorted(delays) and delays[1] > delays[0]
    assert max(delays) <= 1.0


def test_a_retried_command_that_had_run_runs_twice(proxy: FaultProxy, redis_url: str) -> None:
    """Why every write must be idempotent: a lost reply makes the client retry.

    This is the hazard the checkpointer and store tests guard against; if the
    proxy did not really lose the reply after Redis ran INCR, this would be 1.
    """
    client = connect(proxy.url, connect_timeout=0.5, socket_timeout=0.5, retries=2)
    proxy.drop_reply_after(b"INCR")
    assert client.incr("counter") == 2
    assert redis.Redis.from_url(redis_url).get("counter") == b"2"
    client.close()


def test_partition_mid_run_raises_within_the_socket_timeout(proxy: FaultProxy) -> None:
    client = connect(proxy.url, connect_timeout=0.3, socket_timeout=0.3, retries=1)
    client.set("k", "before")
    proxy.blackhole()
    outcome = within(10, lambda: client.get("k"))
    assert isinstance(outcome, redis.TimeoutError)
    proxy.blackhole(False)
    proxy.cut_all()
    assert client.get("k") == b"before"  # the same client recovers once the path is back
    client.close()


def test_partition_at_start_is_a_clear_error(proxy: FaultProxy) -> None:
    proxy.blackhole()
    client = connect(proxy.url, connect_timeout=0.3, socket_timeout=0.3, retries=1)
    outcome = within(10, lambda: check_server(client))
    assert isinstance(outcome, RedisUnavailableError)
    assert "REDIS_URL" in str(outcome) and f"127.0.0.1:{proxy.port}" in str(outcome)


async def test_partition_at_start_is_a_clear_error_async(proxy: FaultProxy) -> None:
    proxy.blackhole()
    client = aconnect(proxy.url, connect_timeout=0.3, socket_timeout=0.3, retries=1)
    outcome = await awithin(10, acheck_server(client))
    assert isinstance(outcome, RedisUnavailableError)
    assert "Cannot reach Redis" in str(outcome)
    proxy.blackhole(False)
    await client.aclose()


def test_killed_server_fails_fast_then_client_reconnects(tmp_path) -> None:
    server = EmbeddedRedis(data_dir=tmp_path, appendfsync="always").start()
    try:
        client = connect(server.url, connect_timeout=0.3, socket_timeout=0.3, retries=2)
        client.set("k", "v")
        server.kill()
        outcome = within(10, lambda: check_server(client))
        assert isinstance(outcome, RedisUnavailableError)
        server.restart()
        assert client.get("k") == b"v"  # same client object, new connection, data kept
        client.close()
    finally:
        server.stop()


def _setup_saver(client: redis.Redis) -> None:
    from langmem_ext.checkpoint import RedisSaver

    RedisSaver(client).setup()


def _setup_store(client: redis.Redis) -> None:
    from langmem_ext.store import RedisStore

    RedisStore(client).setup()


@pytest.mark.parametrize("setup", [_setup_saver, _setup_store], ids=["saver", "store"])
@pytest.mark.parametrize("how", ["refused", "partition"])
def test_backends_fail_at_start_with_a_clear_error(
    proxy: FaultProxy, setup: object, how: str, closed_port: int
) -> None:
    url = f"redis://127.0.0.1:{closed_port}" if how == "refused" else proxy.url
    proxy.blackhole(how == "partition")
    client = connect(url, connect_timeout=0.3, socket_timeout=0.3, retries=1)
    outcome = within(10, lambda: setup(client))  # type: ignore[operator]
    assert isinstance(outcome, RedisUnavailableError), outcome
    assert "Cannot reach Redis at 127.0.0.1:" in str(outcome) and "REDIS_URL" in str(outcome)


async def test_async_backends_fail_at_start_with_a_clear_error(proxy: FaultProxy) -> None:
    from langmem_ext.checkpoint import AsyncRedisSaver
    from langmem_ext.store import AsyncRedisStore

    proxy.blackhole()
    for make in (AsyncRedisSaver, AsyncRedisStore):
        client = aconnect(proxy.url, connect_timeout=0.3, socket_timeout=0.3, retries=1)
        outcome = await awithin(10, make(client).asetup())
        assert isinstance(outcome, RedisUnavailableError), outcome
    proxy.blackhole(False)


def test_a_graph_turn_during_a_partition_fails_within_the_timeout(proxy: FaultProxy) -> None:
    from langmem_ext.checkpoint import RedisSaver
    from tests.reliability._chat_graph import build_graph, config, human

    saver = RedisSaver(connect(proxy.url, connect_timeout=0.3, socket_timeout=0.3, retries=1))
    saver.setup()
    graph = build_graph(saver)
    graph.invoke({"messages": [human("p", 0)]}, config("p"))
    proxy.blackhole()
    outcome = within(20, lambda: graph.invoke({"messages": [human("p", 1)]}, config("p")))
    assert isinstance(outcome, (redis.TimeoutError, redis.ConnectionError)), outcome
    proxy.blackhole(False)
