"""Redis long-term memory store for LangGraph: ``RedisStore`` and ``AsyncRedisStore``.

Both are LangGraph ``BaseStore`` implementations with InMemoryStore's semantics,
vector (HNSW/FLAT), BM25 and hybrid search with filters pushed into RediSearch,
native TTL, a compare-and-set write (``put_if_version``) and prefix deletion.
"""

from __future__ import annotations

from langmem_ext.store.aio import AsyncRedisStore
from langmem_ext.store.base import EmbeddingError
from langmem_ext.store.filters import InvalidFilterError
from langmem_ext.store.redis import RedisStore
from langmem_ext.store.schema import IncompatibleIndexError, RedisIndexConfig, SearchMode

__all__ = [
    "AsyncRedisStore",
    "EmbeddingError",
    "IncompatibleIndexError",
    "InvalidFilterError",
    "RedisIndexConfig",
    "RedisStore",
    "SearchMode",
]
