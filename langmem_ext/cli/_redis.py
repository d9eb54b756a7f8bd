"""``langmem-ext redis start | stop | status``: a Redis that outlives the command."""

from __future__ import annotations

import argparse

from langmem_ext.cli._common import CliError, console


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "redis",
        help="Start, stop or inspect a detached embedded Redis 8 (state under $LANGMEM_EXT_HOME).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    start = actions.add_parser("start", help="Start a detached server (its data persists).")
    start.add_argument("--port", type=int, default=None, help="TCP port (default: a free one).")
    start.add_argument("--data-dir", default=None, help="Where the append-only file lives.")
    start.set_defaults(handler=_start)
    stop = actions.add_parser("stop", help="Stop the detached server.")
    stop.set_defaults(handler=_stop)
    status = actions.add_parser("status", help="Say whether it runs, and where.")
    status.set_defaults(handler=_status)


def _start(args: argparse.Namespace) -> int:
    from langmem_ext.server import EmbeddedRedisError, start_detached

    try:
        status = start_detached(port=args.port, data_dir=args.data_dir)
    except EmbeddedRedisError as exc:
        raise CliError(str(exc)) from exc
    console().print(
        f"Redis running at [bold]{status.url}[/] (pid {status.pid}, data in {status.data_dir}).\n"
        "langmem-ext commands use it while it runs; `langmem-ext redis stop` stops it."
    )
    return 0


def _stop(args: argparse.Namespace) -> int:
    from langmem_ext.server import stop_detached

    status = stop_detached()
    if status is None:
        console().print("No detached Redis was running.")
    else:
        console().print(f"Stopped the Redis on port {status.port} (pid {status.pid}).")
    return 0


def _status(args: argparse.Namespace) -> int:
    from langmem_ext.server import detached_status, state_dir

    status = detached_status()
    if status is None:
        console().print(f"not running (no state file in {state_dir()})")
        return 1
    if not status.alive:
        console().print(f"not running (stale state: pid {status.pid}, port {status.port})")
        return 1
    console().print(f"running at {status.url} (pid {status.pid}, data in {status.data_dir})")
    return 0
