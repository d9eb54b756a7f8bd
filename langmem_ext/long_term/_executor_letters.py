"""The dead letters of :class:`~langmem_ext.long_term.executor.ReflectionExecutor`.

A reflection that fails every retry is buried: kept as a dead letter in its store
(:mod:`~langmem_ext.long_term.dead_letters`), or, when even that write fails, in this
process until the next retry writes it. :class:`DeadLetterKeeping` holds that part of
the executor (burying a job, the entries kept in this process, listing and retrying the
dead letters), as one of its base classes; import the executor from
:mod:`langmem_ext.long_term.executor`.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore

from langmem_ext.long_term._io import Gen, run_async, run_sync
from langmem_ext.long_term._queue import Job
from langmem_ext.long_term.dead_letters import (
    DeadLetter,
    dead_letter,
    dead_letter_namespace,
    listing_dead_letters,
    retrying_dead_letters,
    saving_dead_letter,
)

__all__ = ["DeadLetterKeeping"]


class DeadLetterKeeping:
    """The dead-letter part of ``ReflectionExecutor`` (a base class of it only).

    It uses the executor's ``node``, ``keep_dead_letters``, ``_cond`` (the lock held around
    shared state) and ``_unsaved`` (the entries not written yet).
    """

    # ---- dead letters -------------------------------------------------------------------

    def _letter(self, job: Job, error: BaseException) -> tuple[tuple[str, ...], DeadLetter]:
        return dead_letter_namespace(self.node, job.config), dead_letter(
            job.messages, config=job.config, error=error, attempts=job.attempts + 1)

    def _kept(self, job: Job, ns: tuple[str, ...], letter: DeadLetter, exc: Exception | None) -> str:
        if exc is None:
            return f" (kept as dead letter {'/'.join(ns)}/{letter.thread_id}; retry_dead_letters() retries it)"
        with self._cond:
            self._unsaved.append((job.store, ns, letter))
        return (f" (the dead letter could not be written either: {type(exc).__name__}: {exc}; "
                "kept in this process until retry_dead_letters())")

    def _burying(self, job: Job, error: BaseException) -> Gen[str]:
        if not self.keep_dead_letters:
            return ""
        ns, letter = self._letter(job, error)
        try:
            yield from saving_dead_letter(ns, letter)
        except Exception as exc:
            return self._kept(job, ns, letter, exc)
        return self._kept(job, ns, letter, None)

    def _bury(self, job: Job, error: BaseException) -> str:
        return run_sync(job.store, self._burying(job, error))

    def _take_unsaved(self, store: BaseStore) -> list[tuple[tuple[str, ...], DeadLetter]]:
        with self._cond:
            mine = [(ns, letter) for s, ns, letter in self._unsaved if s is store]
            kept = [entry for entry in self._unsaved if entry[0] is not store]
            self._unsaved.clear()
            self._unsaved.extend(kept)
        return mine

    def _restore_unsaved(self, store: BaseStore, entries: Sequence[tuple[tuple[str, ...], DeadLetter]]) -> None:
        with self._cond:
            self._unsaved.extend((store, ns, letter) for ns, letter in entries)

    def _unsaved_letters(self, store: BaseStore, config: RunnableConfig | None) -> list[DeadLetter]:
        """The entries this process could not write to ``store`` yet (of ``config``'s user, or all)."""
        wanted = None if config is None else dead_letter_namespace(self.node, config)
        with self._cond:
            return [letter for s, ns, letter in self._unsaved if s is store and wanted in (None, ns)]

    def _dead(self, store: BaseStore, config: RunnableConfig | None) -> Gen[list[DeadLetter]]:
        stored = yield from listing_dead_letters(self.node, config)
        return self._unsaved_letters(store, config) + [letter for _, letter in stored]

    def dead_letters(self, store: BaseStore, *, config: RunnableConfig | None = None) -> list[DeadLetter]:
        """The reflections that failed every retry, oldest first: of ``config``'s user, or of all users.

        Includes the ones this process could not write to ``store`` yet.
        """
        return run_sync(store, self._dead(store, config))

    async def adead_letters(self, store: BaseStore, *, config: RunnableConfig | None = None) -> list[DeadLetter]:
        """Async :meth:`dead_letters`."""
        return await run_async(store, self._dead(store, config))

    def _retrying(self, store: BaseStore, config: RunnableConfig | None) -> Gen[tuple[int, int]]:
        entries = self._take_unsaved(store)
        for i, (ns, letter) in enumerate(entries):
            try:
                yield from saving_dead_letter(ns, letter)
            except Exception:
                self._restore_unsaved(store, entries[i:])
                raise
        return (yield from retrying_dead_letters(store, self.node, config))

    def retry_dead_letters(self, store: BaseStore, *, config: RunnableConfig | None = None) -> tuple[int, int]:
        """Reflect on the dead letters again, now; returns (succeeded, failed).

        A success deletes the entry; a failure keeps it with the new error. Entries this
        process could not write before are written first (if that fails, they stay here
        and the error is raised).
        """
        return run_sync(store, self._retrying(store, config))

    async def aretry_dead_letters(self, store: BaseStore, *, config: RunnableConfig | None = None) -> tuple[int, int]:
        """Async :meth:`retry_dead_letters`."""
        return await run_async(store, self._retrying(store, config))

