"""Helpers of the MCP tests: start the real server as a subprocess, connect with the official SDK client."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

USERS = ["maya", "omar", "ines", "noor"] + [f"client-{i:02d}" for i in range(20)]
TOKENS = {u: f"tok-{u}-" + "k" * 24 for u in USERS}


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)


def _pump(stream: Any, sink: list[str], ready: threading.Event) -> None:
    for line in stream:
        sink.append(line)
        if "MCP server on" in line:
            ready.set()
    ready.set()


def start_server(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120) -> Server:
    """``langmem-ext mcp ARGS`` with its stderr collected; returns once it announces its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "langmem_ext.cli", "mcp", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    log: list[str] = []
    ready = threading.Event()
    threading.Thread(target=_pump, args=(proc.stderr, log, ready), daemon=True).start()
    if not ready.wait(timeout) or proc.poll() is not None:
        proc.kill()
        raise AssertionError("the MCP server did not start:\n" + "".join(log))
    match = re.search(r"(http://\S+/mcp)", "".join(log))
    assert match, "".join(log)
    return Server(match.group(1), proc, log)


def stop_server(server: Server) -> str:
    server.proc.terminate()
    try:
        server.proc.wait(20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(5)
    time.sleep(0.1)
    return "".join(server.log)


@asynccontextmanager
async def http_session(url: str, token: str | None) -> AsyncIterator[Any]:
    """An initialised ClientSession over streamable HTTP with a bearer token (or none)."""
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                yield session


@asynccontextmanager
async def stdio_session(redis_url: str, user: str | None, *, env: dict[str, str] | None = None) -> AsyncIterator[Any]:
    """An initialised ClientSession over stdio to a `langmem-ext mcp` subprocess."""
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    args = ["-m", "langmem_ext.cli", "mcp", "--redis-url", redis_url] + (["--user", user] if user else [])
    params = StdioServerParameters(command=sys.executable, args=args, env={**os.environ, **(env or {})})
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


def ok(result: Any) -> dict[str, Any]:
    """The structured result of a tool call that must have succeeded."""
    assert not result.is_error, result.content
    return result.structured_content


def error_text(result: Any) -> str:
    """The message of a tool call that must have failed."""
    assert result.is_error, result.structured_content
    return " ".join(c.text for c in result.content)
