"""Store I/O of long-term memory: every operation is a generator of requests; two drivers answer.

The model is ``langmem_ext.checkpoint._io``: the logic of recall, the writer, forgetting,
dead letters and reflection is written once, as a generator that yields what it needs
(a store batch, a store method, the writer's lock, a model call) and receives the answer.
:func:`run_sync` and :func:`run_async` are the only code that differs between a function
and its ``a``-twin.

Example:
    >>> from langgraph.store.base import GetOp, PutOp
    >>> from langgraph.store.memory import InMemoryStore
    >>> def put_then_get(ns):
    ...     yield Batch([PutOp(ns, "k", {"v": 1})])
    ...     (item,) = yield Batch([GetOp(ns, "k")])
    ...     return item.value
    >>> store = InMemoryStore()
    >>> run_sync(store, put_then_get(("a",)))
    {'v': 1}
    >>> import asyncio
    >>> asyncio.run(run_async(store, put_then_get(("b",))))
    {'v': 1}
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langgraph.store.base import BaseStore, Op

__all__ = ["Batch", "Call", "Gen", "Lock", "Twin", "Unlock", "resolve_store", "run_async", "run_sync"]  # supports_text_search: from retrieval

T = TypeVar("T")
Gen = Generator[Any, Any, T]
"""An operation: yields requests, receives their results, returns its own."""


@dataclass(frozen=True)
class Batch:
    """``store.batch(ops)``; with ``modes`` (index of a SearchOp -> ranking), on stores that rank
    by BM25 as well (``RedisStore.batch(ops, modes=...)``)."""

    ops: Sequence[Op]
    modes: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """A store method by name (``get_with_version``); async: its ``a``-twin, else the sync one in a thread."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lock:
    """Take this process's writer lock of the store (a thread lock, or an asyncio lock per event loop)."""


@dataclass(frozen=True)
class Unlock:
    """Release the lock taken by :class:`Lock`."""


@dataclass(frozen=True)
class Twin:
    """Anything else with a sync and an async form (a model call): ``sync()`` or ``await async_()``."""

    sync: Callable[[], Any]
    async_: Callable[[], Awaitable[Any]]


_sync_locks: weakref.WeakKeyDictionary[BaseStore, threading.Lock] = weakref.WeakKeyDictionary()
_async_locks: weakref.WeakKeyDictionary[BaseStore, dict[int, asyncio.Lock]] = weakref.WeakKeyDictionary()
_registry = threading.Lock()


def _sync_lock(store: BaseStore) -> threading.Lock:
    with _registry:
        lock = _sync_locks.get(store)
        if lock is None:
            lock = _sync_locks[store] = threading.Lock()
        return lock


def _async_lock(store: BaseStore) -> asyncio.Lock:
    loop_id = id(asyncio.get_running_loop())
    with _registry:
        per_loop = _async_locks.setdefault(store, {})
        lock = per_loop.get(loop_id)
        if lock is None:
            lock = per_loop[loop_id] = asyncio.Lock()
        return lock


def resolve_store(owner: str, store: BaseStore | None) -> BaseStore:
    """``store``, else the store of the graph running now; a clear error without either.

    >>> resolve_store("RecallNode", None)
    Traceback (most recent call last):
    ValueError: RecallNode has no store: compile the graph with a store (builder.compile(store=...)) or pass RecallNode(store=...).
    """
    if store is None:
        try:
            from langgraph.config import get_store

            store = get_store()
        except RuntimeError:  # not inside a graph run
            store = None
    if store is None:
        raise ValueError(f"{owner} has no store: compile the graph with a store (builder.compile(store=...)) "
                         f"or pass {owner}(store=...).")
    return store


def supports_text_search(store: BaseStore) -> bool:
    """Whether ``store`` ranks by BM25 as well as by vector (``search(..., mode="text")``).

    True for :class:`langmem_ext.store.RedisStore` / ``AsyncRedisStore`` with an index.

    >>> from langgraph.store.memory import InMemoryStore
    >>> supports_text_search(InMemoryStore())
    False
    """
    return "text" in getattr(store, "search_modes", ())


def _batch(store: BaseStore, req: Batch) -> Any:
    if req.modes and supports_text_search(store):
        return store.batch(list(req.ops), modes=dict(req.modes))  # type: ignore[call-arg]
    return store.batch(list(req.ops))


async def _abatch(store: BaseStore, req: Batch) -> Any:
    if req.modes and supports_text_search(store):
        return await store.abatch(list(req.ops), modes=dict(req.modes))  # type: ignore[call-arg]
    return await store.abatch(list(req.ops))


def _answer(store: BaseStore, req: Any) -> Any:
    if isinstance(req, Batch):
        return _batch(store, req) if req.ops else []
    if isinstance(req, Call):
        return getattr(store, req.name)(*req.args, **req.kwargs)
    if isinstance(req, Lock):
        return _sync_lock(store).acquire()
    if isinstance(req, Unlock):
        return _sync_lock(store).release()
    if isinstance(req, Twin):
        return req.sync()
    raise TypeError(f"unknown request {req!r}")


async def _aanswer(store: BaseStore, req: Any) -> Any:
    if isinstance(req, Batch):
        return await _abatch(store, req) if req.ops else []
    if isinstance(req, Call):
        twin = getattr(store, "a" + req.name, None)
        if twin is not None:
            return await twin(*req.args, **req.kwargs)
        method = getattr(store, req.name)
        return await asyncio.to_thread(lambda: method(*req.args, **req.kwargs))
    if isinstance(req, Lock):
        return await _async_lock(store).acquire()
    if isinstance(req, Unlock):
        return _async_lock(store).release()
    if isinstance(req, Twin):
        return await req.async_()
    raise TypeError(f"unknown request {req!r}")


def run_sync(store: BaseStore, op: Gen[T]) -> T:
    """Drive ``op`` to completion on the store's sync API (an error goes back into ``op``)."""
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            req = op.throw(error) if error is not None else op.send(reply)
        except StopIteration as stop:
            return stop.value
        reply, error = None, None
        try:
            reply = _answer(store, req)
        except BaseException as exc:  # handed to the operation: it releases its lock, or explains
            error = exc


async def run_async(store: BaseStore, op: Gen[T]) -> T:
    """The asyncio twin of :func:`run_sync` (the store's async API)."""
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            req = op.throw(error) if error is not None else op.send(reply)
        except StopIteration as stop:
            return stop.value
        reply, error = None, None
        try:
            reply = await _aanswer(store, req)
        except BaseException as exc:  # a cancellation too: the operation's cleanup still runs
            error = exc
