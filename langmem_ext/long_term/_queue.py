"""The driver-independent part of :class:`~langmem_ext.long_term.executor.ReflectionExecutor`:
pending reflections per thread, debounced, merged, retried with back-off, each run by
the worker thread or by an event loop (:func:`_loop_id`: the running one's id).

Not thread-safe by itself: the executor holds its condition lock around every call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore

from langmem_ext.messages import merge_messages

__all__ = ["Job", "JobQueue"]

logger = logging.getLogger("langmem_ext.long_term.executor")


@dataclass
class Job:
    key: tuple[Any, ...]
    messages: list[BaseMessage]
    config: RunnableConfig
    store: BaseStore
    due: float
    attempts: int = 0
    driver: int | None = None
    """None: the worker thread runs it; else the id of the event loop whose pump runs it."""
    orphaned: bool = False
    """Handed to the worker thread by an event loop that closed: it runs as part of closing."""


class JobQueue:
    """The driver-independent part: pending jobs per thread key."""

    def __init__(self, delay: float, max_retries: int, backoff: float) -> None:
        self.delay, self.max_retries, self.backoff = delay, max_retries, backoff
        self.pending: dict[tuple[Any, ...], Job] = {}
        self.running: dict[tuple[Any, ...], Job] = {}
        self.finished = 0
        """Reflections done so far (succeeded, or given up on)."""

    def put(self, key: tuple[Any, ...], messages: Sequence[BaseMessage], config: RunnableConfig, store: BaseStore,
            driver: int | None) -> None:
        now = time.monotonic()
        old = self.pending.get(key)
        merged = merge_messages(old.messages, messages) if old else list(messages)
        self.pending[key] = Job(key, merged, config, store, now + self.delay, old.attempts if old else 0, driver)

    def next_due(self, driver: int | None) -> float | None:
        ready = [j.due for k, j in self.pending.items() if k not in self.running and j.driver == driver]
        return min(ready) if ready else None

    def pop_due(self, now: float, driver: int | None) -> Job | None:
        for key, job in sorted(self.pending.items(), key=lambda kv: kv[1].due):
            if job.due <= now and key not in self.running and job.driver == driver:
                del self.pending[key]
                self.running[key] = job
                return job
        return None

    def owned_by(self, driver: int, store: BaseStore | None = None) -> bool:
        return any(j.driver == driver for j in self.jobs(store))

    def jobs(self, store: BaseStore | None = None) -> list[Job]:
        """Pending and running jobs (of ``store``; None: all)."""
        return [j for j in (*self.pending.values(), *self.running.values()) if store is None or j.store is store]

    def gives_up(self, job: Job, error: BaseException | None) -> bool:
        """Whether ``done(job, error)`` will drop the job (its last retry failed)."""
        return error is not None and job.attempts + 1 > self.max_retries

    def done(self, job: Job, error: BaseException | None, kept: str = "", *, closing: bool = False) -> None:
        """``closing``: the store or the process is closing; a retry is logged in one line, without its traceback."""
        self.running.pop(job.key, None)
        if error is None:
            self.finished += 1
            return
        job.attempts += 1
        if job.attempts > self.max_retries:
            self.finished += 1
            logger.error("Background reflection for %s failed %d times; giving up on %d messages%s.",
                         job.key, job.attempts, len(job.messages), kept, exc_info=error)
            return
        if closing:
            logger.warning("Background reflection for %s failed (attempt %d: %s: %s); retrying.", job.key,
                           job.attempts, type(error).__name__, error)
        else:
            logger.warning("Background reflection for %s failed (attempt %d); retrying.", job.key, job.attempts,
                           exc_info=error)
        retry_at = time.monotonic() + self.backoff * 2 ** (job.attempts - 1)
        newer = self.pending.get(job.key)
        if newer is not None:  # a submit arrived meanwhile: keep the failed messages too
            newer.messages = merge_messages(job.messages, newer.messages)
            newer.attempts = max(newer.attempts, job.attempts)
            newer.due = min(newer.due, retry_at)
        else:
            job.due = retry_at
            self.pending[job.key] = job

    def lose(self, job: Job, error: BaseException, number: int) -> None:
        """Drop a running job whose store cannot be reached while closing: one WARNING line, no traceback."""
        self.running.pop(job.key, None)
        self.finished += 1
        logger.warning(
            "Background reflection for %s lost while closing (%d so far): the store cannot be reached (%s: %s); its %d "
            "message(s) stay unreflected until the thread's next reflection.", job.key, number,
            type(error).__name__, error, len(job.messages),
        )

    def make_all_due(self, store: BaseStore | None = None) -> None:
        for job in self.pending.values():
            if store is None or job.store is store:
                job.due = 0.0

    def requeue(self, job: Job) -> None:
        """Put back a job whose run was interrupted (not failed): it runs again, in full."""
        self.running.pop(job.key, None)
        newer = self.pending.get(job.key)
        if newer is not None:
            newer.messages = merge_messages(job.messages, newer.messages)
        else:
            self.pending[job.key] = job

    def adopt(self, driver: int, *, orphaned: bool = False) -> int:
        """Hand the pending jobs of event loop ``driver`` to the worker thread; returns how many.

        ``orphaned``: the loop is closing, so they run as part of closing (see ``Job.orphaned``)."""
        moved = [j for j in self.pending.values() if j.driver == driver]
        for job in moved:
            job.driver = None
            job.orphaned = job.orphaned or orphaned
        return len(moved)

    def adopt_store(self, store: BaseStore, *, keep: int | None = None) -> None:
        """Hand the pending jobs of ``store`` to the worker thread, except event loop ``keep``'s."""
        for job in self.pending.values():
            if job.store is store and job.driver != keep:
                job.driver = None

    def take(self, store: BaseStore | None = None) -> list[Job]:
        """Remove and return the pending (not running) jobs of ``store`` (None: all)."""
        taken = [j for j in self.pending.values() if store is None or j.store is store]
        for job in taken:
            del self.pending[job.key]
        return taken

    def size(self, store: BaseStore | None = None) -> int:
        """Reflections pending or running (of ``store``; None: all)."""
        return len(self.jobs(store))

    def idle(self, store: BaseStore | None = None) -> bool:
        return not self.jobs(store)


def _loop_id() -> int | None:
    """The id of the running event loop, None outside one."""
    try:
        return id(asyncio.get_running_loop())
    except RuntimeError:
        return None

