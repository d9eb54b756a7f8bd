"""LangGraph's checkpointer conformance suite: every base check and every capability."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate

from langmem_ext.checkpoint import AsyncRedisSaver, RedisSaver
from langmem_ext.connection import aconnect, connect

from .conftest import SyncAsAsync

CAPABILITIES = {
    "put", "put_writes", "get_tuple", "list", "delete_thread",
    "delete_for_runs", "copy_thread", "prune",
}  # fmt: skip


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_conformance_suite_passes_everything(kind: str, redis_url: str) -> None:
    async def fresh() -> AsyncIterator[Any]:
        if kind == "async":
            client = aconnect(redis_url)
            saver = AsyncRedisSaver(client)
            await saver.asetup()
            yield saver
            await client.aclose()
        else:
            sync_client = connect(redis_url)
            inner = RedisSaver(sync_client)
            inner.setup()
            yield SyncAsAsync(inner)
            sync_client.close()

    report = await validate(checkpointer_test(name=f"RedisSaver-{kind}")(fresh))
    failures = {name: r.failures for name, r in report.results.items() if not r.passed}
    assert not failures
    assert report.passed_all_base()
    assert set(report.results) == CAPABILITIES
    assert all(r.detected and r.tests_passed > 0 for r in report.results.values())
    assert sum(r.tests_passed for r in report.results.values()) >= 80
