from __future__ import annotations

import time

import pytest

from langmem_ext.connection import (
    IncompatibleServerError,
    RedisUnavailableError,
    _parse,
    _validate,
    acheck_server,
    aconnect,
    check_server,
    connect,
)


def test_real_server_passes(redis_url: str) -> None:
    info = check_server(connect(redis_url), modules=("search", "json"))
    assert info.version >= (8, 0, 0)


async def test_real_server_passes_async(redis_url: str) -> None:
    client = aconnect(redis_url)
    info = await acheck_server(client, modules=("search", "json"))
    await client.aclose()
    assert "search" in info.modules


def test_unreachable_server_fails_fast(closed_port: int) -> None:
    client = connect(f"redis://127.0.0.1:{closed_port}", connect_timeout=0.5, retries=1)
    started = time.monotonic()
    with pytest.raises(RedisUnavailableError, match="REDIS_URL"):
        check_server(client)
    assert time.monotonic() - started < 10


async def test_unreachable_server_fails_fast_async(closed_port: int) -> None:
    client = aconnect(f"redis://127.0.0.1:{closed_port}", connect_timeout=0.5, retries=1)
    with pytest.raises(RedisUnavailableError, match="Cannot reach Redis"):
        await acheck_server(client)


def test_non_redis_port_is_named(not_redis_port: int) -> None:
    client = connect(f"redis://127.0.0.1:{not_redis_port}", connect_timeout=0.5, retries=0)
    with pytest.raises(IncompatibleServerError, match="not as Redis"):
        check_server(client)


def test_old_redis_is_rejected() -> None:
    info = _parse({"redis_version": "6.2.14"}, None)
    with pytest.raises(IncompatibleServerError, match="6.2.14.*>= 7.0"):
        _validate(object(), info, (7, 0), ())


def test_missing_module_is_named() -> None:
    info = _parse({"redis_version": "7.2.4"}, [{b"name": b"ReJSON"}])
    with pytest.raises(IncompatibleServerError, match="search"):
        _validate(object(), info, (7, 0), ("search", "json"))


def test_bad_timeout_rejected() -> None:
    with pytest.raises(ValueError, match="connect_timeout"):
        connect("redis://localhost", connect_timeout=0)


def test_a_negative_retry_count_is_refused_not_read_as_forever():
    import pytest

    from langmem_ext.connection import aconnect, connect

    for make in (connect, aconnect):
        with pytest.raises(ValueError, match="retries must be an int >= 0, got -1"):
            make("redis://127.0.0.1:1", retries=-1)
