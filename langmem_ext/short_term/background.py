"""Background summarisation: start the summary call early, apply it when it is done.

With a soft threshold below the trigger (``background_at`` x trigger), the summary of
what overflows at that point is computed in a worker thread while requests go on. The
next run applies the finished summary (if the running summary has not moved meanwhile).
Only when the hard trigger is reached with the summary still pending does a request wait,
and with nothing pending it summarises inline, like the foreground mode. A failed
background model call falls back to the extractive summary, like the foreground mode.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from langmem_ext.short_term.summarize import RunningSummary, SummaryResult

__all__ = ["BackgroundSummaries"]


@dataclass
class _Job:
    future: Future[SummaryResult]
    base_updates: int  # the running summary's ``updates`` when the job started


class BackgroundSummaries:
    """Pending summary jobs, one per conversation thread, run by one worker thread."""

    def __init__(self) -> None:
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, thread: str, summary: RunningSummary | None, work: Callable[[], SummaryResult]) -> bool:
        """Start ``work`` for ``thread`` unless a job is already pending; True if started."""
        with self._lock:
            if thread in self._jobs:
                return False
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="langmem-ext-summary")
            self._jobs[thread] = _Job(self._pool.submit(work), summary.updates if summary else 0)
            return True

    def pending(self, thread: str) -> bool:
        with self._lock:
            return thread in self._jobs

    def take(self, thread: str, summary: RunningSummary | None, *, wait: bool) -> SummaryResult | None:
        """The finished job's result if it still applies (``wait``: block until done).

        Raises:
            Exception: whatever the job raised (the job is dropped); model failures do not
                raise, they fall back to the extractive summary.
        """
        with self._lock:
            job = self._jobs.get(thread)
        if job is None or not (wait or job.future.done()):
            return None
        with self._lock:
            self._jobs.pop(thread, None)
        result = job.future.result()  # re-raises what the job raised
        current = summary.updates if summary else 0
        return result if job.base_updates == current else None

    async def atake(self, thread: str, summary: RunningSummary | None, *, wait: bool) -> SummaryResult | None:
        """:meth:`take` that waits without blocking the event loop."""
        import asyncio

        with self._lock:
            job = self._jobs.get(thread)
        if job is not None and wait and not job.future.done():
            await asyncio.wrap_future(job.future)
        return self.take(thread, summary, wait=False)
