"""What the example graphs share: models, embeddings, the store index, Redis backends.

Studio (``langgraph dev``) loads ``embeddings`` from here for its store's vector index
(``langgraph.json``: ``"embed": "./graphs/common.py:embeddings"``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.runnables import RunnableConfig

from langmem_ext.embeddings import MINILM_DIMS, MiniLMEmbeddings
from langmem_ext.models import Models, resolve_models

__all__ = [
    "DEFAULT_USER",
    "STORE_INDEX",
    "embeddings",
    "models",
    "redis_backends",
    "thread_config",
    "user_id",
]

DEFAULT_USER = "default-user"

embeddings: Embeddings = MiniLMEmbeddings()
"""The offline MiniLM-L6-v2 (384 dims) used for every vector index in the examples."""

STORE_INDEX: dict[str, Any] = {"dims": MINILM_DIMS, "embed": embeddings, "fields": ["content"]}
"""The store's vector index: memories are embedded by their ``content`` field."""


@functools.lru_cache(maxsize=1)
def models() -> Models:
    """The chat and memory models from the environment (offline when none is configured).

    The first call logs one line saying which models run (or that the graphs are offline).
    """
    resolved = resolve_models()
    logging.getLogger("langmem_ext.graphs").info(resolved.description)
    return resolved


def thread_config(thread_id: str, *, user_id: str = DEFAULT_USER) -> RunnableConfig:
    """The run config the graphs expect: a thread and the user whose memories to use."""
    return {"configurable": {"thread_id": thread_id, "user_id": user_id}}


def user_id(config: RunnableConfig | None) -> str:
    """The ``user_id`` of a run (``DEFAULT_USER`` when the caller gave none)."""
    return str(((config or {}).get("configurable") or {}).get("user_id") or DEFAULT_USER)


@contextlib.contextmanager
def redis_backends(url: str | None = None) -> Iterator[tuple[Any, Any]]:
    """Our RedisSaver and RedisStore (MiniLM index) on ``url`` / ``$REDIS_URL`` / the embedded server."""
    from langmem_ext.checkpoint import RedisSaver
    from langmem_ext.server import redis_url
    from langmem_ext.store import RedisStore

    resolved = redis_url(url)
    with RedisSaver.from_conn_string(resolved) as saver, RedisStore.from_conn_string(resolved, index=STORE_INDEX) as store:  # type: ignore[arg-type]
        yield saver, store
