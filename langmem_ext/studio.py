"""Our Redis backends for LangGraph's API server (``langgraph dev`` / Studio).

``langgraph.json`` names the two factories below, and the server then keeps its threads
in :class:`~langmem_ext.checkpoint.AsyncRedisSaver` and its long-term memory in
:class:`~langmem_ext.store.AsyncRedisStore` (with the MiniLM index the graphs use),
instead of its own in-memory ones::

    "checkpointer": {"path": "langmem_ext.studio.checkpointer"},
    "store": {"path": "langmem_ext.studio.store"}

(The server reads a module path as ``module.attribute``, with a dot.) Both open
``$REDIS_URL``; without it, the detached ``langmem-ext redis start`` server, which is
started (and a line logged saying so) when none runs. So what Studio stores is what
``langmem-ext memories list`` shows, and it outlives the server.

``langmem-ext studio`` writes such a ``langgraph.json`` (see :func:`studio_config`) and
serves the bundled graphs from any directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from langmem_ext.checkpoint import AsyncRedisSaver
    from langmem_ext.store import AsyncRedisStore

__all__ = ["GRAPHS", "checkpointer", "server_url", "store", "studio_config"]

GRAPHS = ("chatbot", "agent", "minimal")
"""The bundled graphs Studio serves (modules of :mod:`langmem_ext.graphs`)."""

logger = logging.getLogger("langmem_ext.studio")

_lock = threading.Lock()  # both factories resolve at start-up: one detached server, not two


def server_url(*, start: bool = True) -> str:
    """The Redis the server's backends use: ``$REDIS_URL``, else the detached server.

    Args:
        start: start the detached server when none runs (and log where); with ``False``,
            raise instead.

    Raises:
        EmbeddedRedisError: no ``$REDIS_URL``, no detached server, and it could not start
            (or ``start=False``).
    """
    explicit = os.environ.get("REDIS_URL")
    if explicit:
        return explicit
    with _lock:
        from langmem_ext.server import EmbeddedRedisError, detached_status, start_detached

        status = detached_status()
        if status is not None and status.alive:
            return status.url
        if not start:
            raise EmbeddedRedisError(
                "no REDIS_URL and no `langmem-ext redis start` server: set REDIS_URL, or run "
                "`langmem-ext redis start` first"
            )
        status = start_detached()
        logger.warning(
            "langmem-ext: no REDIS_URL and no detached Redis, so started one at %s (data in %s); "
            "it keeps running after the server stops: `langmem-ext redis stop` ends it.",
            status.url,
            status.data_dir,
        )
        return status.url


@contextlib.asynccontextmanager
async def checkpointer() -> AsyncIterator[AsyncRedisSaver]:
    """An :class:`~langmem_ext.checkpoint.AsyncRedisSaver` on :func:`server_url`, for the server's lifetime."""
    from langmem_ext.checkpoint import AsyncRedisSaver

    async with AsyncRedisSaver.from_conn_string(await asyncio.to_thread(server_url)) as saver:
        yield saver


@contextlib.asynccontextmanager
async def store() -> AsyncIterator[AsyncRedisStore]:
    """An :class:`~langmem_ext.store.AsyncRedisStore` with the graphs' MiniLM index on :func:`server_url`."""
    from langmem_ext.graphs.common import STORE_INDEX
    from langmem_ext.store import AsyncRedisStore

    url = await asyncio.to_thread(server_url)
    async with AsyncRedisStore.from_conn_string(url, index=STORE_INDEX) as redis_store:  # type: ignore[arg-type]
        yield redis_store


def studio_config(*, graphs: Literal["package", "checkout"] = "package", env: str | None = None) -> dict[str, Any]:
    """The ``langgraph.json`` that serves the bundled graphs on our Redis backends.

    Args:
        graphs: ``"package"`` names the graphs by module (works from any directory, what
            ``langmem-ext studio`` writes); ``"checkout"`` by the checkout's
            ``./graphs/*.py`` entry points (the repository's ``langgraph.json``).
        env: a ``.env`` file for the server to read (model keys), if any.

    Example:
        >>> config = studio_config()
        >>> config["graphs"]["chatbot"], config["store"]
        ('langmem_ext.graphs.chatbot:graph', {'path': 'langmem_ext.studio.store'})
    """
    if graphs not in ("package", "checkout"):
        raise ValueError(f"graphs={graphs!r}: use 'package' (module paths) or 'checkout' (./graphs/*.py)")
    paths = {
        name: f"langmem_ext.graphs.{name}:graph" if graphs == "package" else f"./graphs/{name}.py:graph"
        for name in GRAPHS
    }
    config: dict[str, Any] = {
        "$schema": "https://langgra.ph/schema.json",
        "dependencies": ["."],
        "graphs": paths,
        "checkpointer": {"path": "langmem_ext.studio.checkpointer"},
        "store": {"path": "langmem_ext.studio.store"},
    }
    if env is not None:
        config["env"] = env
    return config
