"""The ``langmem-ext`` command line: demo, memories, mcp, redis, studio, eval, bench, ui.

Each subcommand lives in its own private module; this one only wires argparse.

Example:
    >>> sorted(build_parser().parse_args(["redis", "status"]).__dict__)
    ['action', 'command', 'handler', 'redis_url']
    >>> build_parser().parse_args(["redis", "status", "--redis-url", "redis://h:1"]).redis_url
    'redis://h:1'
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

# The CLI embeds one short text at a time (queries, new memories); on a busy small
# machine a multi-threaded BLAS makes that several times slower than one thread
# (docs/cli.md, "Threads"). Set before NumPy loads; the user's value wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from langmem_ext.cli._common import CliError, stderr

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from langmem_ext import __version__
    from langmem_ext.cli import _bench, _demo, _eval, _mcp, _memories, _redis, _studio, _ui

    parser = argparse.ArgumentParser(
        prog="langmem-ext",
        description="Memory for LangGraph agents: demo, memory administration, Redis, evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"langmem-ext {__version__}")
    parser.add_argument("--redis-url", default=None, help=REDIS_URL_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in (_demo, _memories, _mcp, _redis, _studio, _eval, _bench, _ui):
        module.add_parser(sub)
    _everywhere(parser, "--redis-url", help=REDIS_URL_HELP)
    return parser


REDIS_URL_HELP = "Redis to use (default: $REDIS_URL, else a `redis start` server, else a private one)."


def _everywhere(parser: argparse.ArgumentParser, flag: str, *, help: str) -> None:
    """Accept a global option after any subcommand too (``memories list --redis-url U``).

    Subcommand parsers get the option with a suppressed default, so a value given
    before the subcommand is kept unless one is given after it.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                if flag not in child._option_string_actions:
                    child.add_argument(flag, default=argparse.SUPPRESS, help=help)
                _everywhere(child, flag, help=help)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (errors: one line on stderr, exit code 2)."""
    from langmem_ext.service.errors import ServiceError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (CliError, ServiceError) as exc:
        from rich.markup import escape

        stderr().print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        stderr().print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
