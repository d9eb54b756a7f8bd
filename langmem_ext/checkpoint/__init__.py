"""Redis checkpointers for LangGraph on plain Redis (no modules): sync and asyncio.

Example:
    >>> from langmem_ext.checkpoint import RedisSaver
    >>> with RedisSaver.from_conn_string(url, ttl={"default_ttl": 60}) as saver:  # doctest: +SKIP
    ...     graph = builder.compile(checkpointer=saver)
"""

from __future__ import annotations

from langmem_ext.checkpoint._types import (
    CheckpointConfigError,
    CheckpointSerializationError,
    PruneStrategy,
    TTLConfig,
)
from langmem_ext.checkpoint.aio import AsyncRedisSaver
from langmem_ext.checkpoint.redis import RedisSaver

__all__ = [
    "RedisSaver",
    "AsyncRedisSaver",
    "TTLConfig",
    "PruneStrategy",
    "CheckpointConfigError",
    "CheckpointSerializationError",
]
