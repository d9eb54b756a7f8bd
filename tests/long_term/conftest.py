"""Fixtures for long-term memory tests: one `store` parametrised over backends.

InMemoryStore always; our RedisStore (on the session's real Redis) once
`langmem_ext.store` provides it. Embeddings are the deterministic hash_embed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from langmem_ext.long_term.testing import HASH_DIMS, hash_embed

INDEX = {"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]}


def _redis_store_class():
    try:
        module = importlib.import_module("langmem_ext.store")
    except ImportError:
        return None
    return getattr(module, "RedisStore", None)


BACKENDS = ["memory"] + (["redis"] if _redis_store_class() is not None else [])


def make_store(backend: str, url: str | None = None) -> Iterator[BaseStore]:
    if backend == "memory":
        yield InMemoryStore(index=INDEX)
        return
    cls = _redis_store_class()
    with cls.from_conn_string(url, index=INDEX) as store:  # type: ignore[union-attr]
        if hasattr(store, "setup"):
            store.setup()
        yield store


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[BaseStore]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    yield from make_store(request.param, url)
