"""Starting the MCP server: the transport, who the users are, and the checks made before serving.

* **stdio**: one user, from ``--user`` or ``$LANGMEM_EXT_USER``.
* **HTTP** (streamable HTTP at ``/mcp``): loopback by default. With bearer tokens (a token
  file or ``$LANGMEM_EXT_MCP_TOKENS``) each token names its user and requests without a
  valid token get 401. Without tokens it serves one user (``--user``) and only on a
  loopback address: a non-loopback bind without tokens is refused before anything starts.

Example:
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, True, False)
    >>> http_plan("0.0.0.0", tokens=TokenMap(), user="maya")
    Traceback (most recent call last):
    ...
    langmem_ext.mcp._run.McpConfigError: Refusing to serve on 0.0.0.0 without bearer tokens: ...
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from langmem_ext.mcp._tokens import TOKENS_ENV, TOKENS_FILE_ENV, TokenMap
from langmem_ext.service._scope import check_user
from langmem_ext.service.errors import InvalidRequestError

__all__ = ["USER_ENV", "McpConfigError", "HttpPlan", "StaticTokenVerifier", "http_plan", "is_loopback",
           "resolve_user", "run", "serve"]

USER_ENV = "LANGMEM_EXT_USER"


class McpConfigError(ValueError):
    """The server cannot start as configured; the message says why and what to change."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_user(user: str | None, *, env: dict[str, str] | None = None) -> str | None:
    """The single user from ``--user`` or ``$LANGMEM_EXT_USER`` (None when neither is set)."""
    env = dict(os.environ) if env is None else env
    value = user or env.get(USER_ENV) or None
    if value is None:
        return None
    try:
        return check_user(value)
    except InvalidRequestError as exc:
        raise McpConfigError(f"{'--user' if user else USER_ENV}: {exc}") from exc


class StaticTokenVerifier:
    """The SDK's ``TokenVerifier`` over a :class:`TokenMap`: a known token -> its user as the subject."""

    def __init__(self, tokens: TokenMap) -> None:
        self.tokens = tokens

    async def verify_token(self, token: str) -> Any:
        from mcp.server.auth.provider import AccessToken

        user = self.tokens.user_for(token)
        if user is None:
            return None
        # client_id and subject both name the user: the SDK binds each HTTP session to this principal,
        # so one user's token can never drive another user's session.
        return AccessToken(token="", client_id=user, subject=user, scopes=["memories"])


@dataclass
class HttpPlan:
    """How an HTTP server authenticates: one fixed user, or bearer tokens."""

    user: str | None
    verifier: StaticTokenVerifier | None


def http_plan(host: str, *, tokens: TokenMap, user: str | None) -> HttpPlan:
    """Check an HTTP configuration before anything starts."""
    if tokens:
        if user is not None:
            raise McpConfigError(
                f"Both bearer tokens and a single user ({user!r}, from --user or {USER_ENV}) are configured: with "
                "tokens every token names its own user; drop --user / unset the variable."
            )
        return HttpPlan(user=None, verifier=StaticTokenVerifier(tokens))
    if not is_loopback(host):
        raise McpConfigError(
            f"Refusing to serve on {host} without bearer tokens: anyone who can reach that address could read and "
            f"erase memories. Give a token file (--tokens FILE or {TOKENS_FILE_ENV}) or set {TOKENS_ENV}, or bind "
            "to 127.0.0.1."
        )
    if user is None:
        raise McpConfigError(
            f"No user: an HTTP server without bearer tokens serves one user; pass --user U (or set {USER_ENV}), "
            f"or give bearer tokens (--tokens FILE, {TOKENS_FILE_ENV} or {TOKENS_ENV})."
        )
    return HttpPlan(user=user, verifier=None)


def _reflection_model() -> Any:
    """The memory model configured for the graphs (None: the offline extractor)."""
    from langmem_ext.models import default_memory_model

    return default_memory_model()


def run(main: Coroutine[Any, Any, Any]) -> Any:
    """Run the server's coroutine to completion: on uvloop when it is installed (the ``mcp`` extra
    brings it, except on Windows), else on asyncio's own loop. uvloop costs fewer instructions per
    request (docs/mcp.md, Speed)."""
    try:
        import uvloop
    except ImportError:
        import asyncio

        return asyncio.run(main)
    return uvloop.run(main)


async def serve(url: str, *, transport: str, user: str | None, host: str = "127.0.0.1", port: int = 8765,
                tokens: TokenMap | None = None, say: Callable[[str], None] | None = None,
                index: dict[str, Any] | None = None) -> None:
    """Open the store on ``url`` and serve until interrupted.

    Args:
        url: The Redis URL.
        transport: ``"stdio"`` or ``"http"``.
        user: The single user (stdio; token-less loopback HTTP).
        host: HTTP bind address.
        port: HTTP port (0: a free one; the URL is announced through ``say``).
        tokens: Bearer tokens (HTTP).
        say: Where start-up lines go (stderr; never stdout, which carries stdio's protocol).
        index: The store's index (default: the one the CLI and the graphs use, offline MiniLM).
    """
    from langmem_ext.cli._stores import CLI_INDEX
    from langmem_ext.mcp._server import build_server
    from langmem_ext.service import AsyncMemoryService
    from langmem_ext.store import AsyncRedisStore

    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    tokens = tokens or TokenMap()
    if transport == "stdio":
        if user is None:
            raise McpConfigError(f"No user: a stdio server serves one user; pass --user U or set {USER_ENV}.")
        plan = HttpPlan(user=user, verifier=None)
    elif transport == "http":
        plan = http_plan(host, tokens=tokens, user=user)
    else:
        raise McpConfigError(f"transport must be 'stdio' or 'http', got {transport!r}.")
    model = _reflection_model()
    async with AsyncRedisStore.from_conn_string(url, index=index or CLI_INDEX) as store:  # type: ignore[arg-type]
        service = AsyncMemoryService(store, reflection_model=model)
        auth = None
        if plan.verifier is not None:
            from mcp.server.auth.settings import AuthSettings

            auth = AuthSettings(issuer_url=f"http://{host}:{port or 1}", resource_server_url=None)  # type: ignore[arg-type]
        server = build_server(service, user=plan.user, token_verifier=plan.verifier, auth=auth)
        _settle()
        try:
            if transport == "stdio":
                say(f"langmem-ext MCP server on stdio for user {plan.user!r} (reflection: "
                    f"{'offline extractor' if model is None else 'the configured memory model'}).")
                await server.run_stdio_async()
            else:
                await _serve_http(server, host=host, port=port, plan=plan, tokens=tokens, say=say)
        finally:
            await service.flush()


def _settle() -> None:
    """Put everything loaded so far (modules, the SDK's models and schemas, the store) out of the
    cyclic garbage collector's reach. Otherwise each full collection walks all of it again, every
    few hundred requests: a pause of many milliseconds in the middle of someone's tool call.
    What requests allocate is collected as before."""
    import gc

    gc.collect()
    gc.freeze()


async def _serve_http(server: Any, *, host: str, port: int, plan: HttpPlan, tokens: TokenMap,
                      say: Callable[[str], None]) -> None:
    import asyncio

    import uvicorn

    app = server.streamable_http_app(json_response=True, host=host)
    # httptools parses HTTP in C when installed (the mcp extra brings it); uvicorn falls back to h11.
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
    web = uvicorn.Server(config)
    task = asyncio.create_task(web.serve())
    while not web.started and not task.done():
        await asyncio.sleep(0.02)
    if task.done():
        await task  # raises the bind error
        raise McpConfigError(f"The HTTP server on {host}:{port} stopped at start-up.")
    bound = web.servers[0].sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    who = f"{len(set(tokens.users.values()))} users by bearer token" if plan.verifier else f"user {plan.user!r}, no token (loopback only)"
    say(f"langmem-ext MCP server on http://{shown}:{bound}/mcp ({who}).")
    await task
