"""Pytest plugin: run LangGraph's own store tests with our store in place of InMemoryStore.

Loaded with ``-p _langgraph_plugin`` by ``test_langgraph_suite.py`` in a child pytest
over ``tests/test_store.py`` of the langgraph-checkpoint sdist. The tests build
``InMemoryStore(...)`` inline and spy on ``InMemoryStore.batch``, so the module's
name is rebound to a subclass of ours that starts empty (a fresh key prefix) on
the Redis named by ``LANGMEM_EXT_TEST_REDIS_URL``; ``LANGMEM_EXT_TEST_STORE`` picks
``sync`` (RedisStore) or ``async`` (AsyncRedisStore).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
import redis

from langmem_ext.connection import aconnect, connect
from langmem_ext.store import AsyncRedisStore, RedisStore

_URL = os.environ.get("LANGMEM_EXT_TEST_REDIS_URL", "")
_ASYNC = os.environ.get("LANGMEM_EXT_TEST_STORE", "sync") == "async"
_counter = itertools.count()

_Base: Any = AsyncRedisStore if _ASYNC else RedisStore


class FreshStore(_Base):  # type: ignore[misc, valid-type]
    """Our store, empty, with InMemoryStore's constructor signature."""

    def __init__(self, *, index: Any = None, ttl: Any = None) -> None:
        client = aconnect(_URL) if _ASYNC else connect(_URL)
        super().__init__(client, index=index, ttl=ttl, key_prefix=f"lgt{os.getpid()}x{next(_counter)}")


@pytest.fixture(autouse=True)
def _substitute_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    if not _URL:
        raise RuntimeError("LANGMEM_EXT_TEST_REDIS_URL is not set: run this through test_langgraph_suite.py.")
    if hasattr(request.module, "InMemoryStore"):
        monkeypatch.setattr(request.module, "InMemoryStore", FreshStore)
    yield
    client = redis.Redis.from_url(_URL)
    try:
        client.flushall()
    finally:
        client.close()
