"""Background work that uses a store finishes before the store's connections close.

Two kinds of work outlive the call that started them: the debounced reflections of
``ReflectionNode(background=True)`` (:class:`~langmem_ext.long_term.executor.ReflectionExecutor`)
and the coalesced access statistics of ``RecallNode``
(:class:`~langmem_ext.long_term.forgetting.StatsBuffer`). Each registers here (:func:`register`),
and our stores drain them (:func:`drain` / :func:`adrain`) when they close
(``RedisStore.from_conn_string`` / ``AsyncRedisStore.from_conn_string`` leaving their block),
before their connections close, so that work never runs later against a closed client
or a server that has stopped. The wait is bounded by the workers' ``drain_timeout``;
what is left then is kept the way the worker keeps it at process exit (reflections as
dead letters in the store, still open at that point).

A leaf: it imports nothing from ``langmem_ext``, so the store and ``long_term`` both
use it without an import cycle.

Example:
    >>> class Pending:  # what a worker provides
    ...     name, drain_timeout = "demo work", 1.0
    ...     def __init__(self): self.jobs = {"store-a": 2}
    ...     def start_draining(self, store): return self.jobs.get(store, 0)
    ...     def finish_draining(self, store, deadline): return self.jobs.pop(store, 0)
    ...     async def afinish_draining(self, store, deadline): return self.finish_draining(store, deadline)
    >>> worker = Pending()
    >>> register(worker)
    >>> drain("store-a"), drain("store-a"), drain("store-b")
    (2, 0, 0)
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any, Protocol

__all__ = ["Worker", "adrain", "drain", "register", "unreachable"]

logger = logging.getLogger("langmem_ext.background")


class Worker(Protocol):
    """Something that runs work using a store in the background."""

    name: str
    """What the work is, for the log ("background reflection")."""

    drain_timeout: float
    """Seconds a closing store waits for this worker's pending work."""

    def start_draining(self, store: Any) -> int:
        """Start the pending work that uses ``store`` now, without waiting; returns how many jobs."""

    def finish_draining(self, store: Any, deadline: float) -> int:
        """Wait for that work until ``deadline`` (``time.monotonic()``), keep what is left; returns how many finished."""

    async def afinish_draining(self, store: Any, deadline: float) -> int:
        """Async :meth:`finish_draining`, on the event loop that closes the store."""


_WORKERS: weakref.WeakSet[Any] = weakref.WeakSet()
_LOCK = threading.Lock()


def register(worker: Worker) -> None:
    """Have closing stores drain ``worker`` (held weakly: registering keeps nothing alive)."""
    with _LOCK:
        _WORKERS.add(worker)


def _started(store: Any) -> list[tuple[Any, int]]:
    with _LOCK:
        workers = list(_WORKERS)
    busy = []
    for worker in workers:  # all start at once; the waits below share one deadline
        try:
            count = worker.start_draining(store)
        except Exception as exc:  # closing a store must not fail on this; the cause goes to the log
            logger.warning("Draining %s before the store closes failed: %s: %s", worker.name, type(exc).__name__, exc)
            continue
        if count:
            busy.append((worker, count))
    return busy


def _deadline(busy: list[tuple[Any, int]]) -> float:
    return time.monotonic() + max(worker.drain_timeout for worker, _ in busy)


def _report(busy: list[tuple[Any, int]], done: list[int]) -> int:
    total, finished = sum(n for _, n in busy), sum(done)
    parts = ", ".join(f"{worker.name} {d}/{n}" for (worker, n), d in zip(busy, done))
    logger.info("Before the store closed, %d of %d pending background job(s) that use it were done (%s).",
                finished, total, parts)
    return finished


def drain(store: Any) -> int:
    """Run every registered worker's pending work that uses ``store``, now, and wait (bounded).

    Called by a store before it closes its connections. Never raises (failures are logged).

    Returns:
        How many jobs finished.
    """
    busy = _started(store)
    if not busy:
        return 0
    deadline, done = _deadline(busy), []
    for worker, _ in busy:
        try:
            done.append(worker.finish_draining(store, deadline))
        except Exception as exc:
            logger.warning("Draining %s before the store closes failed: %s: %s", worker.name, type(exc).__name__, exc)
            done.append(0)
    return _report(busy, done)


async def adrain(store: Any) -> int:
    """Async :func:`drain`, on the event loop that closes ``store`` (its own jobs run there)."""
    busy = _started(store)
    if not busy:
        return 0
    deadline, done = _deadline(busy), []
    for worker, _ in busy:
        try:
            done.append(await worker.afinish_draining(store, deadline))
        except Exception as exc:
            logger.warning("Draining %s before the store closes failed: %s: %s", worker.name, type(exc).__name__, exc)
            done.append(0)
    return _report(busy, done)


def unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the store's server cannot be reached (refused, reset, timed out),
    anywhere in its chain of causes, rather than that the work itself failed.

    Example:
        >>> unreachable(ConnectionRefusedError(111, "Connection refused"))
        True
        >>> unreachable(ValueError("bad value"))
        False
    """
    kinds: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    try:
        from redis import exceptions

        kinds += (exceptions.ConnectionError, exceptions.TimeoutError)
    except ImportError:  # pragma: no cover - redis is a core dependency
        pass
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kinds):
            return True
        current = current.__cause__ or current.__context__
    return False
