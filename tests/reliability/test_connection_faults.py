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
