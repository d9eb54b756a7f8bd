"""Redis long-term memory store for LangGraph: ``RedisStore`` and ``AsyncRedisStore``.

Both are LangGraph ``BaseStore`` implementations with InMemoryStore's semantics,
vector (HNSW/FLAT), BM25 and hybrid search with filters pushed into RediSearch,
native TTL, a compare-and-set write (``put_if_version``), prefix deletion, and counts
and numbers for statistics that read no values (``count_namespaces``, ``numbers``).

Example:
    >>> from langmem_ext.server import EmbeddedRedis
    >>> from langmem_ext.store import RedisStore
    >>> with EmbeddedRedis() as server, RedisStore.from_conn_string(server.url) as store:
    ...     store.put(("users", "u-1"), "prefs", {"theme": "dark", "size": 3})
    ...     hits = store.search(("users",), filter={"size": {"$gte": 2}})
    ...     item, version = store.get_with_version(("users", "u-1"), "prefs")
    ...     stale = store.put_if_version(("users", "u-1"), "prefs", {"size": 1}, expected_version=version + 1)
    ...     fresh = store.put_if_version(("users", "u-1"), "prefs", {"size": 4}, expected_version=version)
    ...     removed = store.delete_namespace_prefix(("users",))
    >>> [h.value for h in hits], version, stale, fresh, removed
    ([{'theme': 'dark', 'size': 3}], 1, None, 2, 1)

Compare-and-set (for concurrent writers such as background reflection): every write
bumps the item's version; ``put_if_version(..., expected_version=v)`` writes only if
the stored version is still ``v`` (``None``: only if absent) and returns the new
version, or ``None`` when another writer got there first. ``value=None`` deletes
under the same condition (returns 0).
"""

from __future__ import annotations

from langmem_ext.store.aio import AsyncRedisStore
from langmem_ext.store._namespaces import NamespaceCount
from langmem_ext.store._numbers import ItemNumbers
from langmem_ext.store.base import EmbeddingError
from langmem_ext.store.filters import InvalidFilterError
from langmem_ext.store._timeout import SearchTimeoutError
from langmem_ext.store.redis import RedisStore
from langmem_ext.store.schema import IncompatibleIndexError, RedisIndexConfig, SearchMode

__all__ = [
    "AsyncRedisStore",
    "EmbeddingError",
    "IncompatibleIndexError",
    "InvalidFilterError",
    "ItemNumbers",
    "NamespaceCount",
    "RedisIndexConfig",
    "RedisStore",
    "SearchMode",
    "SearchTimeoutError",
]
