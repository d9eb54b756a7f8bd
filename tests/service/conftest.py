"""Fixtures for the service layer: one `service` parametrised over stores, sync and async.

``service`` runs the sync :class:`MemoryService` on InMemoryStore and our RedisStore;
``aservice`` runs :class:`AsyncMemoryService` on InMemoryStore and AsyncRedisStore, all
on the session's real Redis. Embeddings are the deterministic hash_embed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from langgraph.store.memory import InMemoryStore

from langmem_ext.long_term.testing import HASH_DIMS, hash_embed
from langmem_ext.service import AsyncMemoryService, MemoryService

INDEX = {"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]}


@pytest.fixture(params=["memory", "redis"])
def service(request: pytest.FixtureRequest) -> Iterator[MemoryService]:
    if request.param == "memory":
        yield MemoryService(InMemoryStore(index=INDEX))
        return
    from langmem_ext.store import RedisStore

    with RedisStore.from_conn_string(request.getfixturevalue("redis_url"), index=INDEX) as store:
        svc = MemoryService(store)
        yield svc
        svc.flush()


@pytest.fixture(params=["memory", "redis-async"])
async def aservice(request: pytest.FixtureRequest) -> AsyncIterator[AsyncMemoryService]:
    if request.param == "memory":
        yield AsyncMemoryService(InMemoryStore(index=INDEX))
        return
    from langmem_ext.store import AsyncRedisStore

    async with AsyncRedisStore.from_conn_string(request.getfixturevalue("redis_url"), index=INDEX) as store:  # type: ignore[arg-type]
        svc = AsyncMemoryService(store)
        yield svc
        await svc.flush()
