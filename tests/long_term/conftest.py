"""Fixtures for long-term memory tests: one `store` parametrised over backends.

InMemoryStore, our RedisStore and our AsyncRedisStore (on the session's real
Redis; sync tests drive AsyncRedisStore through its sync client). Embeddings
are the deterministic hash_embed.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator

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


BACKENDS = ["memory"] + (["redis", "redis-async"] if _redis_store_class() is not None else [])


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
async def store(request: pytest.FixtureRequest) -> AsyncIterator[BaseStore]:
    url = request.getfixturevalue("redis_url") if request.param != "memory" else None
    if request.param == "redis-async":
        from langmem_ext.store import AsyncRedisStore

        async with AsyncRedisStore.from_conn_string(url, index=INDEX) as astore:  # type: ignore[arg-type]
            yield astore
        return
    for s in make_store(request.param, url):
        yield s


@pytest.fixture(scope="session")
def minilm():
    """The offline MiniLM model, loaded once (for tests where meaning matters)."""
    from langmem_ext.embeddings import MiniLMEmbeddings

    return MiniLMEmbeddings()


@pytest.fixture
def minilm_store(redis_url: str, minilm) -> Iterator[BaseStore]:
    """A RedisStore with real (offline MiniLM) embeddings on the session's Redis."""
    from langmem_ext.connection import connect
    from langmem_ext.embeddings import MINILM_DIMS
    from langmem_ext.store import RedisStore

    client = connect(redis_url)
    st = RedisStore(client, index={"dims": MINILM_DIMS, "embed": minilm, "fields": ["content"]})
    st.setup()
    try:
        yield st
    finally:
        client.close()
