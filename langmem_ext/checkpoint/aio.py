"""The asyncio Redis checkpointer.

Example:
    >>> import asyncio
    >>> from langgraph.graph import START, MessagesState, StateGraph
    >>> from langmem_ext.checkpoint import AsyncRedisSaver
    >>> from langmem_ext.server import EmbeddedRedis
    >>> builder = StateGraph(MessagesState)
    >>> _ = builder.add_node("echo", lambda s: {"messages": [("ai", s["messages"][-1].content)]})
    >>> _ = builder.add_edge(START, "echo")
    >>> async def chat(url: str) -> list[str]:
    ...     async with AsyncRedisSaver.from_conn_string(url) as saver:
    ...         graph = builder.compile(checkpointer=saver)
    ...         config = {"configurable": {"thread_id": "t1"}}
    ...         await graph.ainvoke({"messages": [("user", "ping")]}, config)
    ...         out = await graph.ainvoke({"messages": [("user", "pong")]}, config)
    ...         return [m.content for m in out["messages"]]
    >>> with EmbeddedRedis() as server:
    ...     asyncio.run(chat(server.url))
    ['ping', 'ping', 'pong', 'pong']
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import redis.asyncio as aredis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from langmem_ext.checkpoint._io import aiterate, run_async
from langmem_ext.checkpoint._types import (
    DEFAULT_KEY_PREFIX,
    MIN_REDIS_VERSION,
    PruneStrategy,
    TTLConfig,
)
from langmem_ext.checkpoint.base import BaseRedisSaver
from langmem_ext.connection import DEFAULT_CONNECT_TIMEOUT, acheck_server, aconnect
from langmem_ext.limits import Limits

__all__ = ["AsyncRedisSaver"]

T = TypeVar("T")


class AsyncRedisSaver(BaseRedisSaver):
    """The asyncio twin of :class:`~langmem_ext.checkpoint.RedisSaver` (same storage).

    The sync methods work from other threads (they run on the saver's event loop), as
    with LangGraph's ``AsyncPostgresSaver``.

    Args:
        client: a ``redis.asyncio`` client (``decode_responses=False``).
        ttl: optional ``{"default_ttl": minutes, "refresh_on_read": bool}``.
        serde: serializer (default :class:`~langmem_ext.checkpoint.serde.MessageSerializer`:
            LangGraph's ``JsonPlusSerializer`` format, with a short path for messages).
        key_prefix: prefix of every key.
        max_message_bytes: refuse messages larger than this (None = ``limits.message_bytes``).
        limits: :class:`langmem_ext.limits.Limits` (the saver uses ``message_bytes``, 1 MiB).
    """

    def __init__(
        self,
        client: aredis.Redis,
        *,
        ttl: TTLConfig | None = None,
        serde: SerializerProtocol | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        max_message_bytes: int | None = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(
            client, ttl=ttl, serde=serde, key_prefix=key_prefix, max_message_bytes=max_message_bytes,
            limits=limits,
        )
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        url: str,
        *,
        ttl: TTLConfig | None = None,
        serde: SerializerProtocol | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        max_message_bytes: int | None = None,
        limits: Limits | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        retries: int = 3,
    ) -> AsyncIterator[AsyncRedisSaver]:
        """Connect to ``url``, check the server, run :meth:`asetup`, close on exit.

        Raises:
            RedisUnavailableError: nothing answered within ``connect_timeout`` seconds.
            IncompatibleServerError: not Redis, or Redis older than 7.0.
        """
        client = aconnect(url, connect_timeout=connect_timeout, retries=retries)
        try:
            saver = cls(
                client,
                ttl=ttl,
                serde=serde,
                key_prefix=key_prefix,
                max_message_bytes=max_message_bytes,
                limits=limits,
            )
            await saver.asetup()
            yield saver
        finally:
            await client.aclose()

    async def asetup(self) -> None:
        """Check the server and record the schema version (idempotent)."""
        await acheck_server(self.client, min_version=MIN_REDIS_VERSION)
        await run_async(self.client, self._op_setup())

    setup = asetup

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by ``config`` (the latest of its namespace if no id)."""
        return await run_async(self.client, self._op_get_tuple(config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Checkpoints newest first; ``checkpoint_ns`` "" = root only, absent = all."""
        async for item in aiterate(self.client, self._op_list(config, filter, before, limit)):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint and its changed channel values atomically."""
        return await run_async(
            self.client, self._op_put(config, checkpoint, metadata, new_versions)
        )

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes atomically (first write wins, except special channels)."""
        await run_async(self.client, self._op_put_writes(config, writes, task_id, task_path))

    async def athread_ids(self) -> list[str]:
        """Ids of every thread with checkpoints (one registry read, no key scan)."""
        return await run_async(self.client, self._op_thread_ids())

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of ``thread_id``."""
        await run_async(self.client, self._op_delete_thread(thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) created by the given runs."""
        await run_async(self.client, self._op_delete_for_runs(run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy all checkpoints and writes of one thread into another."""
        await run_async(self.client, self._op_copy_thread(source_thread_id, target_thread_id))

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: PruneStrategy = "keep_latest"
    ) -> None:
        """Keep only the newest checkpoint per namespace, or delete the threads (see
        :meth:`RedisSaver.prune <langmem_ext.checkpoint.RedisSaver.prune>`)."""
        await run_async(self.client, self._op_prune(thread_ids, strategy))

    async def apurge_messages(self, thread_id: str, message_ids: Sequence[str]) -> int:
        """Permanently remove messages (by id) from every checkpoint and write of a thread
        (see :meth:`RedisSaver.purge_messages <langmem_ext.checkpoint.RedisSaver.purge_messages>`)."""
        return await run_async(self.client, self._op_purge(thread_id, message_ids))

    # -- sync methods, from other threads ---------------------------------------------

    def _from_thread(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self.loop is None or running is self.loop or not self.loop.is_running():
            coro.close()
            raise asyncio.InvalidStateError(
                "Synchronous calls to AsyncRedisSaver only work from another thread while its "
                "event loop runs. In async code use the a-methods (await saver.aget_tuple(...), "
                "graph.ainvoke(...)); in sync code use RedisSaver."
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._from_thread(self.aget_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        async def collect() -> list[CheckpointTuple]:
            return [t async for t in self.alist(config, filter=filter, before=before, limit=limit)]

        yield from self._from_thread(collect())

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._from_thread(self.aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._from_thread(self.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._from_thread(self.adelete_thread(thread_id))
