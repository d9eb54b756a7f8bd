"""How :class:`~langmem_ext.long_term.executor.ReflectionExecutor` finishes its work before the end.

* Before a store closes: our stores drain the executors registered with
  :mod:`langmem_ext._background` on leaving ``from_conn_string``; :class:`StoreDraining`
  holds that part of the executor (start the store's pending reflections, wait for them
  until a deadline, keep the rest as dead letters), as one of its base classes.
* At process exit: :func:`_watch` remembers every executor, and the exit hook runs their
  pending reflections, all at once, within the longest ``exit_timeout`` among them.

Import the executor from :mod:`langmem_ext.long_term.executor`.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from typing import Any

from langgraph.store.base import BaseStore

from langmem_ext import _background
from langmem_ext.long_term._queue import _loop_id

__all__ = ["StoreDraining"]

# The executor's log lines keep the name they had before this module was split off.
logger = logging.getLogger("langmem_ext.long_term.executor")


class StoreDraining:
    """The store-draining part of ``ReflectionExecutor`` (a base class of it only).

    It uses the executor's ``exit_timeout``, ``_cond``, ``_queue``, ``_draining``, ``_down``
    and ``_wake``, and its ``_start_due``, ``_wait_idle``, ``_await_idle`` and ``_abandon``.
    """

    # ---- draining before a store closes (langmem_ext._background) ---------------------------

    name = "background reflection"

    @property
    def drain_timeout(self) -> float:
        """A closing store waits up to ``exit_timeout`` seconds for its reflections."""
        return self.exit_timeout

    def start_draining(self, store: BaseStore) -> int:
        """Start the pending reflections that use ``store`` now (its close is about to wait for them).

        Jobs of other event loops move to the worker thread; the running loop's stay on it.

        Returns:
            How many reflections of ``store`` are pending or running.
        """
        loop_id = _loop_id()
        with self._cond:
            count = self._queue.size(store)
            if not count:
                return 0
            self._draining[id(store)] = count
            self._queue.adopt_store(store, keep=loop_id)
            self._start_due(store)
        wake = self._wake.get(loop_id) if loop_id is not None else None
        if wake is not None:
            wake.set()
        return count

    def finish_draining(self, store: BaseStore, deadline: float) -> int:
        """Wait (blocking) for ``store``'s reflections until ``deadline``; keep the rest as dead letters.

        Returns:
            How many finished (succeeded, or kept as dead letters after failing every retry).
        """
        try:
            with self._cond:
                count = self._draining.get(id(store), 0)
                self._queue.adopt_store(store)  # this thread blocks now: the worker thread runs them all
                if self._wait_idle(store, deadline):
                    return count
            return count - self._abandon(store, when="the store closed")
        finally:
            self._drained(store)

    async def afinish_draining(self, store: BaseStore, deadline: float) -> int:
        """Async :meth:`finish_draining`: the closing event loop runs its own jobs meanwhile."""
        try:
            with self._cond:
                count = self._draining.get(id(store), 0)
            if await self._await_idle(store, deadline):
                return count
            return count - self._abandon(store, when="the store closed")
        finally:
            self._drained(store)

    def _drained(self, store: BaseStore) -> None:
        with self._cond:
            self._draining.pop(id(store), None)
            self._down.pop(id(store), None)



_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()  # the live ReflectionExecutors
_HOOKED = False
_HOOK_LOCK = threading.Lock()


def _watch(executor: Any) -> None:
    """Remember ``executor`` for the exit hook (registered once, on the first executor).

    The hook runs when the main thread ends, before ``concurrent.futures`` stops taking
    work (``threading._register_atexit``, the hook those pools use themselves, runs the
    later registration first), so reflections that use a thread pool still run;
    ``atexit`` where that hook does not exist.
    """
    global _HOOKED
    _background.register(executor)  # a closing store drains it first
    with _HOOK_LOCK:
        _LIVE.add(executor)
        if not _HOOKED:
            register = getattr(threading, "_register_atexit", None)
            try:
                (register or atexit.register)(_close_at_exit)
            except RuntimeError:  # the interpreter is already shutting down
                atexit.register(_close_at_exit)
            _HOOKED = True


def _close_at_exit() -> None:
    """The exit hook: run every live executor's pending reflections, all at once, within the
    longest ``exit_timeout`` among them."""
    live = [e for e in list(_LIVE) if not e._stopped]
    busy = [e for e in live if e._start_closing(announce=False)]  # all start at once; close() reports
    deadline = time.monotonic() + max((e.exit_timeout for e in busy), default=0.0)
    for executor in live:
        try:
            executor.close(timeout=max(0.0, deadline - time.monotonic()))
        except Exception:  # an exit hook must not raise; the count and the cause go to the log
            logger.exception("Background reflection: flushing at exit failed.")

