"""``langmem-ext ui``: the memory browser on loopback, behind a one-time access token."""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from langmem_ext.cli._common import CliError, check_redis, console, is_ephemeral, redis_for

DEFAULT_PORT = 8765


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "ui",
        help="Browse and correct memories and threads in a web browser (loopback, access token).",
        description="Serve the memory browser. It prints a URL with a fresh access token and opens nothing.",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0 = any free port).")
    p.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1, this machine only).")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="Allow a non-loopback --host: anyone who reaches it with the token can read and erase every memory.",
    )
    p.set_defaults(handler=_run)


def display_url(url: str) -> str:
    """A Redis URL without its password, for the page header.

    Example:
        >>> display_url("redis://user:secret@db:6379/0")
        'redis://user:***@db:6379/0'
        >>> display_url("redis://127.0.0.1:6379")
        'redis://127.0.0.1:6379'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    netloc = f"{user}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a :class:`CliError` that says what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CliError(f"Port {port} on {host} is in use: pass --port N (or --port 0 for any free port).") from exc
        raise CliError(f"Cannot listen on {host}:{port} ({exc.strerror}); pass another --host/--port.") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from langmem_ext.ui import create_app
        from langmem_ext.ui.security import BindRefusedError, allowed_hosts, check_bind, new_token
    except ImportError as exc:
        raise CliError(f"The memory browser needs the ui extra ({exc.name} is missing): pip install 'langmem-ext[ui]'.") from exc
    try:
        warning = check_bind(args.host, args.port, allow_remote=args.allow_remote)
    except BindRefusedError as exc:
        raise CliError(str(exc)) from exc
    from langmem_ext.checkpoint import RedisSaver
    from langmem_ext.cli._stores import open_store

    with redis_for(args.redis_url) as url:
        check_redis(url)
        if is_ephemeral(args.redis_url):
            console().print(
                "[yellow]note:[/] no REDIS_URL and no `langmem-ext redis start` server: browsing an empty "
                "private Redis that disappears when this command ends."
            )
        with open_store(url) as store, RedisSaver.from_conn_string(url) as saver:
            saver.setup()
            sock = bind(args.host, args.port)
            port = sock.getsockname()[1]
            token = new_token()
            app = create_app(saver=saver, store=store, token=token, hosts=allowed_hosts(args.host, port),
                             where=display_url(url))
            if warning:
                console().print(f"[bold yellow]warning:[/] {warning}")
            shown = socket.gethostname() if args.host in ("0.0.0.0", "::") else args.host
            shown = f"[{shown}]" if ":" in shown else shown
            sys.stdout.write(
                f"Memory browser for {display_url(url)}\n"
                f"Open this URL (its token is valid until you stop the server; nothing is opened for you):\n"
                f"    http://{shown}:{port}/?token={token}\n"
                "Ctrl-C stops it.\n"
            )
            sys.stdout.flush()
            _serve(app, sock)
    return 0


def _serve(app: Any, sock: socket.socket) -> None:
    import uvicorn

    # access_log off: the first request's URL carries the token.
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
