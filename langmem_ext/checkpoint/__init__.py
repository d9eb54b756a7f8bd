"""Redis checkpointers for LangGraph on plain Redis (no modules): sync and asyncio.

Both store the same layout (one cluster slot per thread, core commands only), so
``RedisSaver`` and ``AsyncRedisSaver`` can share a server and read each other's threads.

Example:
    >>> from langchain_core.messages import AIMessage
    >>> from langgraph.graph import START, MessagesState, StateGraph
    >>> from langmem_ext.checkpoint import RedisSaver
    >>> from langmem_ext.server import EmbeddedRedis
    >>> builder = StateGraph(MessagesState)
    >>> _ = builder.add_node("reply", lambda s: {"messages": [AIMessage(f"#{len(s['messages'])}")]})
    >>> _ = builder.add_edge(START, "reply")
    >>> config = {"configurable": {"thread_id": "user-1"}}
    >>> with EmbeddedRedis() as server:
    ...     with RedisSaver.from_conn_string(server.url, ttl={"default_ttl": 60}) as saver:
    ...         _ = builder.compile(checkpointer=saver).invoke({"messages": [("user", "hi")]}, config)
    ...     with RedisSaver.from_conn_string(server.url) as saver:  # a new process, say
    ...         out = builder.compile(checkpointer=saver).invoke({"messages": [("user", "again")]}, config)
    >>> [m.content for m in out["messages"]]
    ['hi', '#1', 'again', '#3']
"""

from __future__ import annotations

from langmem_ext.checkpoint._types import (
    CheckpointConfigError,
    CheckpointSerializationError,
    CheckpointTooLargeError,
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
    "CheckpointTooLargeError",
]
