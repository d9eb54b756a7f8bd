"""Background reflection while Redis goes away: retried when it returns, or reported.

The reflection runs on ``ReflectionExecutor``'s worker thread against our
``RedisStore`` on a private AOF server that the test SIGKILLs. The offline
extractor stands in for the model (no LLM), so the memories written are known.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langmem_ext.long_term import ReflectionExecutor, ReflectionNode, from_value
from langmem_ext.long_term.testing import HASH_DIMS, hash_embed
from langmem_ext.server import EmbeddedRedis
from tests.reliability._backends import make_store

CONFIG = {"configurable": {"user_id": "u1", "thread_id": "t1"}}
SEM = ("memories", "u1", "semantic")


class _Signal(logging.Handler):
    """Sets an event when the executor logs a record containing ``needle``."""

    def __init__(self, needle: str) -> None:
        super().__init__(logging.DEBUG)
        self.needle = needle
        self.event = threading.Event()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.needle in record.getMessage():
            self.event.set()


@pytest.fixture
def signal() -> Any:
    handler = _Signal("")
    logger = logging.getLogger("langmem_ext.long_term.executor")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


def _store(url: str) -> Any:
    return make_store(url, index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]})


def _facts(url: str) -> list[str]:
    return sorted(from_value(i.value).content for i in _store(url).search(SEM, limit=20))


def test_reflection_during_an_outage_is_retried_when_redis_returns(tmp_path: Path, signal: _Signal) -> None:
    signal.needle = "retrying"
    server = EmbeddedRedis(data_dir=tmp_path, appendfsync="always").start()
    executor = ReflectionExecutor(ReflectionNode(), delay=0, max_retries=6, backoff=0.1)
    try:
        store = _store(server.url)
        server.kill()
        executor.submit([HumanMessage("I live in Lisbon.", id="1"), AIMessage("Nice!", id="2")], config=CONFIG, store=store)
        assert signal.event.wait(30), "the failure was never reported"
        server.restart()
        executor.flush(timeout=60)
        assert _facts(server.url) == ["User lives in Lisbon"]
        assert any(r.levelno == logging.WARNING for r in signal.records)
        assert not any(r.levelno >= logging.ERROR for r in signal.records)
    finally:
        with pytest.warns(DeprecationWarning):  # the only way to stop without running what is pending
            executor.shutdown(wait=False)
        server.stop()


def test_an_outage_longer_than_the_retries_is_reported_and_the_next_reflection_catches_up(
    tmp_path: Path, signal: _Signal
) -> None:
    signal.needle = "giving up"
    server = EmbeddedRedis(data_dir=tmp_path, appendfsync="always").start()
    executor = ReflectionExecutor(ReflectionNode(), delay=0, max_retries=1, backoff=0.05)
    try:
        store = _store(server.url)
        server.kill()
        first = [HumanMessage("I live in Lisbon.", id="1"), AIMessage("Nice!", id="2")]
        executor.submit(first, config=CONFIG, store=store)
        assert signal.event.wait(30)
        executor.flush(timeout=60)
        [error] = [r for r in signal.records if r.levelno >= logging.ERROR]
        assert "giving up on 2 messages" in error.getMessage()  # reported, with how much
        server.restart()
        executor.submit([*first, HumanMessage("I work at Acme.", id="3")], config=CONFIG, store=store)
        executor.flush(timeout=60)
        assert _facts(server.url) == ["User lives in Lisbon", "User works at Acme"]  # the cursor never moved
    finally:
        with pytest.warns(DeprecationWarning):  # the only way to stop without running what is pending
            executor.shutdown(wait=False)
        server.stop()
