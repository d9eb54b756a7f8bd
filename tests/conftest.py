"""Shared fixtures: one real Redis 8 (RediSearch + RedisJSON) for the whole session.

The server is the embedded one unless ``--redis-url`` or ``REDIS_URL`` names another.
A server that cannot be started fails the run: nothing here ever skips for want of Redis.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest
import redis

from langmem_ext.server import EmbeddedRedis

# LLMs are faked in tests: a model configured in the developer's shell must not reach the
# nodes that default to the configured memory model (tests that need one set it themselves).
for _name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LANGMEM_EXT_CHAT_MODEL", "LANGMEM_EXT_MEMORY_MODEL",
              "LANGMEM_EXT_OFFLINE"):
    os.environ.pop(_name, None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--redis-url",
        default=os.environ.get("REDIS_URL"),
        help="Use this Redis instead of starting the embedded one (it is FLUSHALLed!).",
    )


@pytest.fixture(scope="session")
def redis_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of the session's Redis; started here, stopped even when tests fail."""
    url = request.config.getoption("--redis-url")
    if url:
        yield url
        return
    server = EmbeddedRedis()
    server.start()  # raises EmbeddedRedisError (a failure, not a skip) if it cannot run
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_modules(redis_server: str) -> set[str]:
    """Names of the modules the server has loaded, read once."""
    client = redis.Redis.from_url(redis_server)
    try:
        return {m[b"name"].decode().lower() for m in client.module_list()}
    finally:
        client.close()


def _flushall(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """The server's URL, emptied after each test."""
    yield redis_server
    _flushall(redis_server)


@pytest.fixture(scope="module")
def module_redis_url(redis_server: str) -> Iterator[str]:
    """The server's URL, emptied after the module (for a module-scoped server writing into it)."""
    yield redis_server
    _flushall(redis_server)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def not_redis_port() -> Iterator[int]:
    """A loopback port that answers like a web server, not like Redis."""
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


@pytest.fixture(autouse=True)
def _fresh_model_call_state() -> Iterator[None]:
    """Each test starts with no learnt endpoint state, turn budgets or call counts (langmem_ext.llm)."""
    from langmem_ext.llm.endpoint import reset_endpoints
    from langmem_ext.llm.stats import reset_stats
    from langmem_ext.llm.turns import reset_turns

    reset_endpoints()
    reset_turns()
    reset_stats()
    yield


@pytest.fixture
def fake_openai() -> Iterator[object]:
    """A started :class:`langmem_ext.llm.testing.FakeOpenAIServer` (real HTTP on a free loopback port)."""
    from langmem_ext.llm.testing import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        yield server
