"""Fixtures of the MCP tests: the real server as a subprocess (``langmem-ext mcp``).

``mcp_http`` is one streamable-HTTP server per module, with bearer tokens for the users in
``TOKENS``, on the session's Redis. Tests of that module use ``redis_server`` (never the
flushing ``redis_url``, which would drop the server's index) and their own user ids; the
module empties Redis at its end. Stdio tests start their own server per test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mcp._harness import TOKENS, Server, start_server, stop_server


@pytest.fixture(scope="module")
def mcp_http(redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    path: Path = tmp_path_factory.mktemp("mcp") / "tokens.txt"
    path.write_text("# test tokens\n" + "".join(f"{u} {t}\n" for u, t in TOKENS.items()))
    path.chmod(0o600)
    server = start_server(["--transport", "http", "--port", "0", "--tokens", str(path), "--redis-url", redis_server])
    try:
        yield server
    finally:
        log = stop_server(server)
        import redis

        redis.Redis.from_url(redis_server).flushall()
        assert "Traceback" not in log, log


