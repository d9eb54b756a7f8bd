"""What every subcommand shares: the console, errors, and opening Redis."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit code 2."""


_console: Console | None = None


def console() -> Console:
    """The shared rich console (errors if the ``cli`` extra is missing)."""
    global _console
    if _console is None:
        try:
            from rich.console import Console
        except ImportError as exc:  # pragma: no cover - rich is in the test extra
            raise SystemExit(
                "The langmem-ext CLI needs rich: `pip install 'langmem-ext[cli]'`."
            ) from exc
        width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
        _console = Console(highlight=False, width=width, soft_wrap=False)
    return _console


@contextlib.contextmanager
def redis_for(url: str | None) -> Iterator[str]:
    """A Redis URL for one command: explicit, ``$REDIS_URL``, a detached server, or a private one.

    A private server lives only as long as the command, so memories written into it
    vanish afterwards; :func:`warn_ephemeral` says so.
    """
    from langmem_ext.server import EmbeddedRedisError, detached_status, running_redis

    if not url and not os.environ.get("REDIS_URL"):
        status = detached_status()
        if status is not None and status.alive:
            yield status.url
            return
    try:
        with running_redis(url) as resolved:
            yield resolved
    except EmbeddedRedisError as exc:
        raise CliError(str(exc)) from exc


def is_ephemeral(url: str | None) -> bool:
    """Whether a command with this ``--redis-url`` runs on a throw-away private server."""
    from langmem_ext.server import detached_status

    if url or os.environ.get("REDIS_URL"):
        return False
    status = detached_status()
    return status is None or not status.alive


def check_redis(url: str, *, store: bool = True) -> Any:
    """Connect and check the server, turning failures into :class:`CliError`."""
    from langmem_ext.connection import (
        IncompatibleServerError,
        RedisUnavailableError,
        check_server,
        connect,
    )

    client = connect(url, connect_timeout=3.0, retries=1)
    try:
        return check_server(client, modules=("search", "json") if store else ())
    except (RedisUnavailableError, IncompatibleServerError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        client.close()
