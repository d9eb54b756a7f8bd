"""One place that builds the backends under test, so API drift is fixed once.

Every client goes through :mod:`langmem_ext.connection` (bounded timeouts and
retries), as product code does.
"""

from __future__ import annotations

from typing import Any

from langmem_ext.checkpoint import AsyncRedisSaver, RedisSaver
from langmem_ext.connection import aconnect, connect

__all__ = ["make_saver", "make_async_saver", "make_store", "make_async_store", "FAST"]

#: Timeouts for fault tests: short enough that a dead server is noticed at once.
FAST: dict[str, Any] = {"connect_timeout": 0.5, "socket_timeout": 2.0, "retries": 2}


def make_saver(url: str, **options: Any) -> RedisSaver:
    saver = RedisSaver(connect(url, **FAST), **options)
    saver.setup()
    return saver


async def make_async_saver(url: str, **options: Any) -> AsyncRedisSaver:
    saver = AsyncRedisSaver(aconnect(url, **FAST), **options)
    await saver.asetup()
    return saver


def make_store(url: str, **options: Any) -> Any:
    from langmem_ext.store import RedisStore

    store = RedisStore(connect(url, **FAST), **options)
    store.setup()
    return store


async def make_async_store(url: str, **options: Any) -> Any:
    from langmem_ext.store import AsyncRedisStore

    store = AsyncRedisStore(aconnect(url, **FAST), **options)
    await store.asetup()
    return store
