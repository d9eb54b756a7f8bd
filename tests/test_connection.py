from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

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


@pytest.fixture
def not_redis_port() -> Iterator[int]:
    """A TCP server that answers every connection with an HTTP response."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join()
    srv.close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_real_server_passes(redis_url: str) -> None:
    info = check_server(connect(redis_url), modules=("search", "json"))
    assert info.version >= (8, 0, 0)


async def test_real_server_passes_async(redis_url: str) -> None:
    client = aconnect(redis_url)
    info = await acheck_server(client, modules=("search", "json"))
    await client.aclose()
    assert "search" in info.modules


def test_unreachable_server_fails_fast() -> None:
    client = connect(f"redis://127.0.0.1:{_closed_port()}", connect_timeout=0.5, retries=1)
    started = time.monotonic()
    with pytest.raises(RedisUnavailableError, match="REDIS_URL"):
        check_server(client)
    assert time.monotonic() - started < 10


async def test_unreachable_server_fails_fast_async() -> None:
    client = aconnect(f"redis://127.0.0.1:{_closed_port()}", connect_timeout=0.5, retries=1)
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
