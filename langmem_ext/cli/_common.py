"""What every subcommand shares: the consoles, errors, and opening Redis and the memory service.

Results go to stdout (:func:`console`); notes, warnings and errors go to stderr
(:func:`stderr`, :func:`note`), so ``langmem-ext memories export > f.jsonl`` writes
only the export into the file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit code 2."""


_consoles: dict[bool, Console] = {}

URL_SCHEMES = ("redis://", "rediss://", "unix://")


def _make_console(stderr: bool) -> Console:
    try:
        from rich.console import Console
    except ImportError as exc:  # pragma: no cover - rich is in the test extra
        raise SystemExit("The langmem-ext CLI needs rich: `pip install 'langmem-ext[cli]'`.") from exc
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
    return Console(highlight=False, width=width, soft_wrap=False, stderr=stderr)


def console() -> Console:
    """The console for results, on stdout (errors if the ``cli`` extra is missing)."""
    if False not in _consoles:
        _consoles[False] = _make_console(False)
    return _consoles[False]


def stderr() -> Console:
    """The console for notes, warnings and errors, on stderr."""
    if True not in _consoles:
        _consoles[True] = _make_console(True)
    return _consoles[True]


def note(text: str) -> None:
    """A note for the user (stderr), never mixed into a command's output."""
    from rich.markup import escape

    stderr().print(f"[yellow]note:[/] {escape(text)}", soft_wrap=True)


def check_url(url: str | None) -> None:
    """Refuse a Redis URL with the wrong scheme in one line, naming where it came from.

    Example:
        >>> check_url("redis://localhost:6379")
        >>> check_url("http://localhost:6379")
        Traceback (most recent call last):
        ...
        langmem_ext.cli._common.CliError: --redis-url 'http://localhost:6379' is not a Redis URL: ...
    """
    source = "--redis-url" if url else "REDIS_URL"
    value = url or os.environ.get("REDIS_URL")
    if value and not value.startswith(URL_SCHEMES):
        raise CliError(
            f"{source} {value!r} is not a Redis URL: it must start with redis://, rediss:// or unix:// "
            f"(e.g. redis://localhost:6379). Fix {source}, or unset it to use the embedded server."
        )


@contextlib.contextmanager
def redis_for(url: str | None) -> Iterator[str]:
    """A Redis URL for one command: explicit, ``$REDIS_URL``, a detached server, or a private one.

    A private server lives only as long as the command, so memories written into it
    vanish afterwards; :func:`warn_ephemeral` says so.
    """
    from langmem_ext.server import EmbeddedRedisError, detached_status, running_redis

    check_url(url)
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
        return check_server(client, modules=("search",) if store else ())  # the store needs RediSearch only
    except (RedisUnavailableError, IncompatibleServerError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        client.close()


@contextlib.contextmanager
def open_service(url: str | None, *, root: tuple[str, ...] = ("memories",)) -> Iterator[Any]:
    """The memory service on the command's Redis (with a note when that Redis is private)."""
    from langmem_ext.cli._stores import open_store
    from langmem_ext.service import MemoryService

    with redis_for(url) as resolved:
        check_redis(resolved)
        if is_ephemeral(url):
            note("no REDIS_URL and no `langmem-ext redis start` server: using an empty private Redis "
                 "for this command only.")
        with open_store(resolved) as store:
            service = MemoryService(store, root=root)
            try:
                yield service
            finally:
                service.flush()
