"""An MCP server for the same memories LangGraph agents build: ``langmem-ext mcp``.

Any agent that speaks the Model Context Protocol (a desktop chat app, an editor, a CLI
agent, an agent in another framework) reads and writes a user's memories through the
tools below, under the same user isolation as the graphs. Built on the official ``mcp``
SDK (``pip install 'langmem-ext[mcp]'``); every tool calls
:class:`~langmem_ext.service.AsyncMemoryService`, the layer the CLI and the web UI use.

Tools: ``search_memories``, ``recall_context`` (the block RecallNode builds, rules
included), ``add_memory``, ``update_memory`` (history kept), ``delete_memory``,
``list_memories`` (cursor), ``reflect`` (ReflectionNode on a transcript), ``forget_me``.
Resources: ``memories://me/rules`` and ``memories://me/facts``; prompt: ``user_rules``.
See docs/mcp.md for client configuration, the token file and the threat model.

Example:
    >>> from langmem_ext.mcp import is_loopback, parse_tokens
    >>> is_loopback("127.0.0.1"), parse_tokens("maya abcdefghijklmnopqrstuvwxyz", source="t").user_for("abcdefghijklmnopqrstuvwxyz")
    (True, 'maya')
"""

from __future__ import annotations

from langmem_ext.mcp._run import (
    USER_ENV,
    McpConfigError,
    StaticTokenVerifier,
    http_plan,
    is_loopback,
    resolve_user,
    run,
    serve,
)
from langmem_ext.mcp._server import INSTRUCTIONS, build_server
from langmem_ext.mcp._tokens import (
    MIN_TOKEN_CHARS,
    TOKENS_ENV,
    TOKENS_FILE_ENV,
    TokenConfigError,
    TokenMap,
    digest,
    load_tokens,
    parse_tokens,
)

__all__ = [
    "INSTRUCTIONS",
    "MIN_TOKEN_CHARS",
    "TOKENS_ENV",
    "TOKENS_FILE_ENV",
    "USER_ENV",
    "McpConfigError",
    "StaticTokenVerifier",
    "TokenConfigError",
    "TokenMap",
    "build_server",
    "digest",
    "http_plan",
    "is_loopback",
    "load_tokens",
    "parse_tokens",
    "resolve_user",
    "run",
    "serve",
]
