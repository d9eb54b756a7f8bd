"""Fixtures for the example graphs: our Redis saver and store on the session's Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest


@pytest.fixture
def backends(redis_url: str) -> Iterator[tuple[Any, Any]]:
    """(RedisSaver, RedisStore with the MiniLM index) on a fresh database."""
    from langmem_ext.graphs.common import redis_backends

    with redis_backends(redis_url) as pair:
        yield pair


@pytest.fixture
async def abackends(redis_url: str) -> AsyncIterator[tuple[Any, Any]]:
    """(AsyncRedisSaver, AsyncRedisStore) on a fresh database."""
    from langmem_ext.graphs.common import STORE_INDEX
    from langmem_ext.checkpoint import AsyncRedisSaver
    from langmem_ext.store import AsyncRedisStore

    async with AsyncRedisSaver.from_conn_string(redis_url) as saver, AsyncRedisStore.from_conn_string(
        redis_url, index=STORE_INDEX
    ) as store:
        yield saver, store


