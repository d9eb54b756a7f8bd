"""Background, debounced reflection that never loses messages.

:class:`ReflectionExecutor` takes reflection off the request path. Each submit
names the thread's messages, its config and — the point of this module — the
store the graph itself used (``ReflectionNode`` passes the runtime's store, so
a reflection never runs against ``None``).

* Debounced per thread: a submit (re)starts the thread's timer (``delay``); a
  burst of turns becomes one reflection.
* A newer submit never drops unreflected messages: pending messages are merged
  with the new ones (union by message id, older first), so messages trimmed
  from the state between two submits are still reflected on.
* Failures are logged and retried with exponential back-off (``max_retries``);
  the thread's cursor only advances on success. A reflection that fails every
  retry is kept as a dead letter in its store (:mod:`~langmem_ext.long_term.dead_letters`):
  list them with :meth:`ReflectionExecutor.dead_letters`, retry them with
  :meth:`ReflectionExecutor.retry_dead_letters` once the cause is fixed.
* Two drivers over one queue: a worker thread for sync graphs (``submit``), an
  asyncio task for async graphs (``asubmit``). ``flush`` / ``aflush`` run
  everything pending now and wait (tests, shutdown).
* Nothing is lost at exit: when the process exits normally, an ``atexit`` hook runs
  every pending reflection (bounded by ``exit_timeout``) and logs how many; what is
  still pending when the time is up is kept as a dead letter. When an event loop
  closes (``asyncio.run`` returning) its pending reflections move to the worker
  thread, which the exit hook then waits for. :meth:`close` does the same on demand.

This module holds the executor and its two drivers; its dead letters are written in
:mod:`~langmem_ext.long_term._executor_letters`, its draining before a store closes and
the exit hook in :mod:`~langmem_ext.long_term._executor_closing`, and its queue in
:mod:`~langmem_ext.long_term._queue`.

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> from langgraph.store.memory import InMemoryStore
    >>> from langmem_ext.long_term.reflection import ReflectionNode
    >>> store = InMemoryStore()
    >>> executor = ReflectionExecutor(ReflectionNode(), delay=60)
    >>> config = {"configurable": {"user_id": "u1", "thread_id": "t"}}
    >>> executor.submit([HumanMessage("I live in Porto.", id="a")], config=config, store=store)
    >>> executor.submit([HumanMessage("I work at Acme.", id="b")], config=config, store=store)
    >>> executor.flush()  # the two submits were debounced into one reflection
    1
    >>> sorted(i.value["content"] for i in store.search(("memories", "u1", "semantic")))
    ['User lives in Porto', 'User works at Acme']
    >>> executor.close()
    0
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore

from langmem_ext import _background
from langmem_ext.long_term._io import Gen, Twin, run_async, run_sync
from langmem_ext.long_term.dead_letters import MAX_PER_NAMESPACE, DeadLetter
from langmem_ext._options import check_non_negative, warn_deprecated
from langmem_ext.long_term.namespaces import resolve_namespace
from langmem_ext.long_term._queue import Job, JobQueue, _loop_id
# Two parts of the executor live in their own modules: its dead letters, and how it
# finishes its work before a store closes or the process exits.
from langmem_ext.long_term._executor_closing import StoreDraining, _watch
from langmem_ext.long_term._executor_letters import DeadLetterKeeping

__all__ = ["ReflectionExecutor"]

logger = logging.getLogger(__name__)


class ReflectionExecutor(DeadLetterKeeping, StoreDraining):
    """Run a :class:`~langmem_ext.long_term.reflection.ReflectionNode` in the background.

    Args:
        node: The reflection node whose ``reflect`` / ``areflect`` runs the work.
        delay: Debounce delay in seconds (per thread).
        max_retries: Retries of a failed reflection before giving up (logged at ERROR).
        backoff: First retry delay in seconds; doubles each attempt.
        dead_letters: Keep a reflection that failed every retry as a dead letter in its
            store (False: only log it). When even that write fails (the store is down),
            the entry is kept in this process (the newest ``MAX_PER_NAMESPACE``) and
            written by the next :meth:`retry_dead_letters`.
        exit_timeout: Seconds the exit hook (and :meth:`close`) wait for pending
            reflections; what is left then is kept as dead letters.
    """

    def __init__(
        self, node: Any, *, delay: float = 5.0, max_retries: int = 3, backoff: float = 0.5, dead_letters: bool = True,
        exit_timeout: float = 30.0,
    ) -> None:
        check_non_negative("ReflectionExecutor", delay=delay, max_retries=max_retries, backoff=backoff,
                           exit_timeout=exit_timeout)
        self.node = node
        self.exit_timeout = exit_timeout
        self.keep_dead_letters = dead_letters
        self._unsaved: deque[tuple[BaseStore, tuple[str, ...], DeadLetter]] = deque(maxlen=MAX_PER_NAMESPACE)
        self._queue = JobQueue(delay, max_retries, backoff)
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._closing = False
        """close() or the exit hook runs: a store that cannot be reached is not retried."""
        self._draining: dict[int, int] = {}
        """Stores closing now (``langmem_ext._background``): id -> their jobs when the close began."""
        self._down: dict[int, BaseException] = {}
        """While closing: stores found unreachable (id -> the error); their other jobs are not tried."""
        self._lost = 0
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._wake: dict[int, asyncio.Event] = {}
        _watch(self)

    def _key(self, config: RunnableConfig) -> tuple[Any, ...]:
        ns = resolve_namespace(self.node.cursor_namespace, config)
        return (*ns, self.node._thread(config))

    # ---- thread driver ------------------------------------------------------------------

    def submit(self, messages: Sequence[BaseMessage], *, config: RunnableConfig, store: BaseStore) -> None:
        """Schedule a reflection of ``messages`` (debounced per thread) on the worker thread."""
        if store is None:
            raise ValueError("ReflectionExecutor.submit needs the graph's store; got None.")
        key = self._key(config)  # raises NamespaceTemplateError now, on the request path
        with self._cond:
            if self._stopped:
                raise RuntimeError("ReflectionExecutor was shut down; create a new one.")
            self._queue.put(key, messages, config, store, None)
            self._ensure_worker()
            self._cond.notify_all()

    def _ensure_worker(self) -> None:
        """Start the worker thread if it is not running (call with ``self._cond`` held)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="langmem-ext-reflection", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopped and self._queue.idle():
                        return
                    job = self._queue.pop_due(time.monotonic(), None)
                    if job is not None:
                        break
                    due = self._queue.next_due(None)
                    self._cond.wait(None if due is None else max(0.0, due - time.monotonic()))
            run_sync(job.store, self._running(job))

    def _ending(self, job: Job) -> bool:
        """Whether the process (close, exit hook), the job's store or its event loop is closing."""
        return self._closing or job.orphaned or id(job.store) in self._draining

    def _running(self, job: Job) -> Gen[None]:
        """One job, whichever driver runs it: reflect; on the last failure, keep a dead letter.

        While closing, a store that cannot be reached is not retried (nor asked to keep a dead
        letter): the job is lost with one WARNING line, and the store's other jobs with it.
        """
        error: BaseException | None = self._down.get(id(job.store)) if self._ending(job) else None
        if error is None:
            try:
                yield Twin(lambda: self.node.reflect(job.messages, config=job.config, store=job.store),
                           lambda: self.node.areflect(job.messages, config=job.config, store=job.store))
            except Exception as exc:  # logged and retried by the queue
                error = exc
        if error is not None and self._ending(job) and _background.unreachable(error):
            with self._cond:
                self._down[id(job.store)] = error
                self._lost += 1
                self._queue.lose(job, error, self._lost)
                self._cond.notify_all()
            return
        kept = ""
        if error is not None and self._queue.gives_up(job, error):  # still "running": flush waits for this
            kept = yield from self._burying(job, error)
        with self._cond:
            self._queue.done(job, error, kept, closing=self._ending(job))
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> int:
        """Run every pending reflection now and wait for all to finish (retries included).

        Returns:
            How many reflections finished meanwhile (succeeded, or kept as dead letters).

        Raises:
            RuntimeError: Called on an event loop that owns pending reflections
                (submitted by ``ainvoke``): blocking here would deadlock; use
                ``await executor.aflush()``.
            TimeoutError: Still running after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        loop_id = _loop_id()
        with self._cond:
            if loop_id is not None and self._queue.owned_by(loop_id):
                raise RuntimeError(
                    "ReflectionExecutor.flush() was called inside the event loop that runs these reflections "
                    "(the graph was run with ainvoke); use `await executor.aflush()` instead."
                )
            before = self._queue.finished
            if not self._wait_idle(None, deadline):
                raise TimeoutError(
                    f"{self._queue.size()} background reflection(s) still pending after the flush timeout "
                    f"({timeout} s)."
                )
            return self._queue.finished - before

    def _wait_idle(self, store: BaseStore | None, deadline: float | None) -> bool:
        """Run the pending jobs (of ``store``; None: all) now and wait until none is left or
        ``deadline`` passes; returns whether none is left. Call with ``self._cond`` held."""
        while not self._queue.idle(store):
            self._start_due(store)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._cond.wait(0.05 if remaining is None else min(remaining, 0.05))
        return True

    def _start_due(self, store: BaseStore | None) -> None:
        """Make the pending jobs (of ``store``) due now and wake their drivers (``self._cond`` held)."""
        self._queue.make_all_due(store)
        if any(j.driver is None for j in self._queue.pending.values()):
            self._ensure_worker()
        self._cond.notify_all()

    def pending(self) -> int:
        """How many reflections are pending or running."""
        with self._cond:
            return self._queue.size()

    def close(self, timeout: float | None = None) -> int:
        """Run every pending reflection (event loops' included), wait up to ``timeout``
        (default ``exit_timeout``) seconds, then stop the worker thread.

        What is still pending when the time is up is kept as dead letters (logged at
        WARNING), so nothing is lost. The exit hook calls this for every live executor.

        Returns:
            How many reflections finished while closing.
        """
        timeout = self.exit_timeout if timeout is None else timeout
        with self._cond:
            before = self._queue.finished
        count = self._start_closing()
        try:
            self.flush(timeout=timeout)
        except TimeoutError:
            self._abandon(None, when="the process exited")
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            done = self._queue.finished - before
        if count:
            logger.info("Background reflection: %d of %d pending reflection(s) done before closing.", done, count)
        return done

    def _start_closing(self, *, announce: bool = True) -> int:
        """Move event loops' jobs to the worker thread and start everything now; returns how many."""
        with self._cond:
            self._closing = True
            adopted = sum(self._queue.adopt(loop_id) for loop_id in list(self._tasks))
            count = self._queue.size()
            if self._queue.pending:
                self._start_due(None)
        if count and announce:
            logger.info("Running %d pending background reflection(s) before closing%s.", count,
                        f" ({adopted} from closed event loops)" if adopted else "")
        return count

    def _abandon(self, store: BaseStore | None, *, when: str) -> int:
        """Keep what is still pending (not running) of ``store`` (None: all) as dead letters;
        returns how many reflections are left undone (kept, and abandoned while running)."""
        with self._cond:
            left = self._queue.take(store)
            running = [j for j in self._queue.running.values() if store is None or j.store is store]
            down = {id(j): self._down[id(j.store)] for j in left if id(j.store) in self._down}
        logger.warning(
            "Background reflection: %d reflection(s) not run within exit_timeout=%s s before %s are kept as dead "
            "letters (retry_dead_letters() runs them); %d still running are abandoned (their messages stay "
            "unreflected).", len(left) - len(down), self.exit_timeout, when, len(running),
        )
        for job in left:
            error = down.get(id(job))
            if error is None:
                self._bury(job, TimeoutError(f"not run before {when} (exit_timeout)"))
                continue
            with self._cond:  # its store cannot be reached: a dead letter could not be written either
                self._lost += 1
                self._queue.lose(job, error, self._lost)
        return len(left) + len(running)

    def shutdown(self, *, wait: bool = True) -> None:
        """Deprecated: :meth:`close` (``wait=False`` stops without running what is pending)."""
        warn_deprecated("ReflectionExecutor.shutdown() is deprecated; use close().")
        if wait:
            self.close()
            return
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    # ---- asyncio driver -----------------------------------------------------------------

    def asubmit(self, messages: Sequence[BaseMessage], *, config: RunnableConfig, store: BaseStore) -> None:
        """Schedule a reflection on the running event loop (debounced per thread)."""
        if store is None:
            raise ValueError("ReflectionExecutor.asubmit needs the graph's store; got None.")
        key = self._key(config)
        loop = asyncio.get_running_loop()
        loop_id = id(loop)
        with self._cond:
            self._queue.put(key, messages, config, store, loop_id)
        wake = self._wake.setdefault(loop_id, asyncio.Event())
        task = self._tasks.get(loop_id)
        if task is None or task.done():
            self._tasks[loop_id] = loop.create_task(self._apump(wake, loop_id), name="langmem-ext-reflection")
        wake.set()

    async def _apump(self, wake: asyncio.Event, loop_id: int) -> None:
        try:
            await self._apump_jobs(wake, loop_id)
        except asyncio.CancelledError:  # the event loop is closing (asyncio.run returned): hand over, lose nothing
            with self._cond:
                moved = self._queue.adopt(loop_id, orphaned=True)
                if moved:
                    self._queue.make_all_due()
                    self._ensure_worker()
                    self._cond.notify_all()
            if moved:
                logger.info("Background reflection: the event loop is closing; %d pending reflection(s) moved to "
                            "the worker thread (the exit hook waits for them).", moved)
            raise

    async def _apump_jobs(self, wake: asyncio.Event, loop_id: int) -> None:
        while True:
            with self._cond:
                job = self._queue.pop_due(time.monotonic(), loop_id)
                due = self._queue.next_due(loop_id) if job is None else None
                if job is None and due is None:
                    return
            if job is None:
                wake.clear()
                timeout = 0.05 if due is None else max(0.0, due - time.monotonic())
                try:
                    await asyncio.wait_for(wake.wait(), timeout)
                except asyncio.TimeoutError:
                    pass
                continue
            try:
                await run_async(job.store, self._running(job))
            except asyncio.CancelledError:
                with self._cond:
                    self._queue.requeue(job)
                raise

    async def aflush(self) -> int:
        """Async :meth:`flush`: waits for every pending reflection, whichever driver runs it."""
        with self._cond:
            before = self._queue.finished
        await self._await_idle(None, None)
        with self._cond:
            return self._queue.finished - before

    async def _await_idle(self, store: BaseStore | None, deadline: float | None) -> bool:
        """Async :meth:`_wait_idle`: this event loop's jobs run here, the others where they belong."""
        loop = asyncio.get_running_loop()
        loop_id = id(loop)
        while True:
            with self._cond:
                if self._queue.idle(store):
                    return True
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                self._start_due(store)  # the worker thread runs its own jobs now
                mine = self._queue.owned_by(loop_id, store)
            if not mine:
                await asyncio.sleep(0.01)
                continue
            wake = self._wake.setdefault(loop_id, asyncio.Event())
            task = self._tasks.get(loop_id)
            if task is None or task.done():
                task = self._tasks[loop_id] = loop.create_task(self._apump(wake, loop_id))
            wake.set()
            await asyncio.wait({task}, timeout=0.05)
