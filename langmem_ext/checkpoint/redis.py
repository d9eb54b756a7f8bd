"""The synchronous Redis checkpointer (a runnable example is in the package docstring)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from langmem_ext.checkpoint._io import iterate_sync, run_sync
from langmem_ext.checkpoint._types import (
    DEFAULT_KEY_PREFIX,
    MIN_REDIS_VERSION,
    PruneStrategy,
    TTLConfig,
)
from langmem_ext.checkpoint.base import BaseRedisSaver
from langmem_ext.connection import DEFAULT_CONNECT_TIMEOUT, check_server, connect
from langmem_ext.limits import Limits

__all__ = ["RedisSaver"]


class RedisSaver(BaseRedisSaver):
    """A LangGraph checkpointer on plain Redis (>= 7, Valkey, Cluster): no modules needed.

    Each ``put`` and ``get_tuple`` is one round trip; a checkpoint lands atomically with
    its changed channel values, and every write is idempotent (safe to retry).

    Args:
        client: a sync redis-py client (``decode_responses=False``).
        ttl: optional ``{"default_ttl": minutes, "refresh_on_read": bool}``.
        serde: serializer (default :class:`~langmem_ext.checkpoint.serde.MessageSerializer`:
            LangGraph's ``JsonPlusSerializer`` format, with a short path for messages).
        key_prefix: prefix of every key.
        max_message_bytes: refuse messages larger than this (None = ``limits.message_bytes``).
        limits: :class:`langmem_ext.limits.Limits` (the saver uses ``message_bytes``, 1 MiB).
    """

    def __init__(
        self,
        client: redis.Redis,
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

    @classmethod
    @contextmanager
    def from_conn_string(
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
    ) -> Iterator[RedisSaver]:
        """Connect to ``url``, check the server, run :meth:`setup`, close on exit.

        Raises:
            RedisUnavailableError: nothing answered within ``connect_timeout`` seconds.
            IncompatibleServerError: not Redis, or Redis older than 7.0.
        """
        client = connect(url, connect_timeout=connect_timeout, retries=retries)
        try:
            saver = cls(
                client,
                ttl=ttl,
                serde=serde,
                key_prefix=key_prefix,
                max_message_bytes=max_message_bytes,
                limits=limits,
            )
            saver.setup()
            yield saver
        finally:
            client.close()

    def setup(self) -> None:
        """Check the server and record the schema version (idempotent)."""
        check_server(self.client, min_version=MIN_REDIS_VERSION)
        run_sync(self.client, self._op_setup())

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by ``config`` (the latest of its namespace if no id)."""
        return run_sync(self.client, self._op_get_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first; ``checkpoint_ns`` "" = root only, absent = all."""
        yield from iterate_sync(self.client, self._op_list(config, filter, before, limit))

    def thread_ids(self) -> list[str]:
        """Ids of every thread with checkpoints (one registry read, no key scan)."""
        return run_sync(self.client, self._op_thread_ids())

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint and its changed channel values atomically."""
        return run_sync(self.client, self._op_put(config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes atomically (first write wins, except special channels)."""
        run_sync(self.client, self._op_put_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of ``thread_id``."""
        run_sync(self.client, self._op_delete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) created by the given runs."""
        run_sync(self.client, self._op_delete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy all checkpoints and writes of one thread into another."""
        run_sync(self.client, self._op_copy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: PruneStrategy = "keep_latest") -> None:
        """Keep only the newest checkpoint per namespace, or delete the threads.

        Not for graphs using LangGraph's beta ``DeltaChannel``: ``keep_latest`` drops the
        ancestors it reconstructs from.
        """
        run_sync(self.client, self._op_prune(thread_ids, strategy))

    def purge_messages(self, thread_id: str, message_ids: Sequence[str]) -> int:
        """Permanently remove messages (by id) from every checkpoint and write of a thread.

        For privacy requests: all namespaces, all history; one optimistic transaction
        (retried if the thread changes meanwhile). Redis persistence files (AOF/RDB) keep
        old bytes until rewritten: run ``BGREWRITEAOF``/``BGSAVE`` afterwards if enabled.

        Returns:
            How many stored copies of the messages were removed.
        """
        return run_sync(self.client, self._op_purge(thread_id, message_ids))

    def _async_unsupported(self, *_: Any, **__: Any) -> NoReturn:
        raise NotImplementedError(
            "RedisSaver is synchronous: use AsyncRedisSaver (langmem_ext.checkpoint) with "
            "ainvoke/astream, or call invoke/stream."
        )

    aget_tuple = aput = aput_writes = adelete_thread = _async_unsupported  # type: ignore[assignment]
    adelete_for_runs = acopy_thread = aprune = _async_unsupported  # type: ignore[assignment]

    def alist(self, *_: Any, **__: Any) -> Any:  # type: ignore[override]
        self._async_unsupported()
