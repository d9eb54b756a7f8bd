"""``langmem-ext mcp --transport stdio|http``: serve memories over the Model Context Protocol."""

from __future__ import annotations

import argparse
import sys

from langmem_ext.cli._common import CliError, note, redis_for


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("mcp", help="Serve memories to MCP clients (stdio or streamable HTTP); see docs/mcp.md.")
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="stdio (default) or http.")
    p.add_argument("--user", default=None, help="The one user served (stdio; HTTP without tokens). Default $LANGMEM_EXT_USER.")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1, loopback).")
    p.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765; 0 picks a free one).")
    p.add_argument("--tokens", default=None,
                   help="HTTP bearer-token file, one 'USER_ID TOKEN' per line (default $LANGMEM_EXT_MCP_TOKENS_FILE).")
    p.set_defaults(handler=_mcp)


def _mcp(args: argparse.Namespace) -> int:
    try:
        import mcp  # noqa: F401
    except ImportError as exc:
        raise CliError("The MCP server needs the mcp extra: `pip install 'langmem-ext[mcp]'`.") from exc
    from langmem_ext.cli._common import check_redis, is_ephemeral
    from langmem_ext.mcp import USER_ENV, McpConfigError, TokenConfigError, http_plan, load_tokens, resolve_user, run, serve

    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be 0..65535, got {args.port}.")
    try:
        user = resolve_user(args.user)
        tokens, warnings = load_tokens(args.tokens) if args.transport == "http" else (None, [])
        if args.transport == "stdio" and args.tokens:
            raise McpConfigError("--tokens is for --transport http; a stdio server serves --user.")
        if args.transport == "stdio" and user is None:
            raise McpConfigError(f"No user: a stdio server serves one user; pass --user U or set {USER_ENV}.")
        if args.transport == "http":
            http_plan(args.host, tokens=tokens, user=user)  # refuse a bad bind before anything starts
    except (McpConfigError, TokenConfigError) as exc:
        raise CliError(str(exc)) from exc
    for warning in warnings:
        note(warning)
    with redis_for(args.redis_url) as url:
        check_redis(url)
        if is_ephemeral(args.redis_url):
            note("no REDIS_URL and no `langmem-ext redis start` server: memories live in a private Redis that "
                 "ends with this server. Run `langmem-ext redis start` to keep them.")
        try:
            run(serve(url, transport=args.transport, user=user, host=args.host, port=args.port, tokens=tokens,
                      say=lambda line: print(line, file=sys.stderr, flush=True)))
        except (McpConfigError, TokenConfigError) as exc:
            raise CliError(str(exc)) from exc
        except OSError as exc:
            raise CliError(f"Cannot serve on {args.host}:{args.port}: {exc.strerror or exc}.") from exc
        except KeyboardInterrupt:
            pass
    return 0
