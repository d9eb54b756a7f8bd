"""Savers for the checkpoint tests: one fixture over the sync and the async saver.

Shared tests speak the async API; the sync saver is driven through :class:`SyncAsAsync`,
which calls its sync methods directly (no threads), so both code paths run on the real
embedded Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
import redis
from langgraph.checkpoint.base import BaseCheckpointSaver

from langmem_ext.checkpoint import AsyncRedisSaver, RedisSaver
from langmem_ext.connection import aconnect, connect


class SyncAsAsync(BaseCheckpointSaver):
    """A sync saver seen through the async API (tests and the conformance suite only)."""

    def __init__(self, inner: RedisSaver) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_next_version(self, current: Any, channel: Any = None) -> Any:
        return self.inner.get_next_version(current, channel)

    async def aget_tuple(self, config: Any) -> Any:
        return self.inner.get_tuple(config)

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:
        for item in self.inner.list(config, **kwargs):
            yield item

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return self.inner.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: Any, writes: Any, task_id: str, task_path: str = ""
    ) -> None:
        self.inner.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.inner.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.inner.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.inner.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self.inner.prune(thread_ids, strategy=strategy)  # type: ignore[arg-type]

    async def apurge_messages(self, thread_id: str, message_ids: Sequence[str]) -> int:
        return self.inner.purge_messages(thread_id, message_ids)


@pytest.fixture
def sync_client(redis_url: str) -> Iterator[redis.Redis]:
    client = connect(redis_url)
    yield client
    client.close()


@pytest.fixture(params=["sync", "async"])
async def make_saver(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Any]:
    """A factory of fresh savers (async API) of one kind, all on the same Redis."""
    clients: list[Any] = []

    async def make(**options: Any) -> Any:
        if request.param == "sync":
            client = connect(redis_url)
            clients.append(client)
            saver = RedisSaver(client, **options)
            saver.setup()
            return SyncAsAsync(saver)
        aclient = aconnect(redis_url)
        clients.append(aclient)
        asaver = AsyncRedisSaver(aclient, **options)
        await asaver.asetup()
        return asaver

    yield make
    for client in clients:
        if isinstance(client, redis.Redis):
            client.close()
        else:
            await client.aclose()


@pytest.fixture
async def saver(make_saver: Any) -> Any:
    """One fresh saver, sync or async (both seen through the async API)."""
    return await make_saver()
