"""Sans-I/O plumbing of the service: operations yield requests, two drivers answer them.

Every service operation (in :mod:`langmem_ext.service._ops`) is a generator that yields
the requests below and receives their results; :func:`run_sync` and :func:`run_async`
are the only code that differs between :class:`~langmem_ext.service.MemoryService` and
:class:`~langmem_ext.service.AsyncMemoryService`. Each request is answered by a public
function of the long-term package (``recall``, ``apply_changes``, ``forget_user``,
``RecallNode.recall``, ``ReflectionNode.reflect`` ...) or by the store, so the service
adds no second copy of any store access. Errors from below become
:class:`~langmem_ext.service.errors.ServiceError` subclasses here, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.store.base import BaseStore, InvalidNamespaceError, Op

from langmem_ext.limits import LimitExceededError, Limits
from langmem_ext.long_term.forgetting import aforget_user, forget_user
from langmem_ext.long_term.namespaces import NamespaceTemplateError
from langmem_ext.long_term.operations import Changes
from langmem_ext.long_term.retrieval import arecall, asearch_batch, recall, search_batch
from langmem_ext.long_term.writer import ConcurrentUpdateError, aapply_changes, apply_changes
from langmem_ext.service.errors import (
    ConflictError,
    InvalidRequestError,
    LimitError,
    ServiceError,
    StoreUnavailableError,
)

__all__ = [
    "Apply",
    "Batch",
    "Count",
    "FlushStats",
    "Forget",
    "Numbers",
    "Op_",
    "Recall",
    "RecallBlock",
    "Reflect",
    "Verify",
    "run_async",
    "run_sync",
]

Op_ = Generator[Any, Any, Any]


@dataclass(frozen=True)
class Batch:
    """``store.batch(ops)`` with a ranking mode per search op (``retrieval.search_batch``)."""

    ops: Sequence[Op]
    modes: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Apply:
    """``apply_changes(store, changes)``: the lossless writer (history, compare-and-set)."""

    changes: Changes
    limits: Limits | None = None


@dataclass(frozen=True)
class Recall:
    """``retrieval.recall(store, prefix, query, ...)``: the retrieval recipe RecallNode uses."""

    prefix: tuple[str, ...]
    query: str
    mode: str
    limit: int
    depth: int
    vector_weight: float = 0.5


@dataclass(frozen=True)
class RecallBlock:
    """``node.recall(messages, config=...)``: the block a RecallNode builds."""

    node: Any
    messages: Sequence[Any]
    config: Mapping[str, Any]


@dataclass(frozen=True)
class Reflect:
    """``node.reflect(messages, config=...)`` on a ReflectionNode."""

    node: Any
    messages: Sequence[Any]
    config: Mapping[str, Any]


@dataclass(frozen=True)
class FlushStats:
    """Write a RecallNode's pending access statistics now."""

    node: Any


@dataclass(frozen=True)
class Forget:
    """``forget_user(store, prefix)``."""

    prefix: tuple[str, ...]


@dataclass(frozen=True)
class Verify:
    """Items left under ``prefix`` by a keyspace SCAN (None: the store cannot SCAN)."""

    prefix: tuple[str, ...]


@dataclass(frozen=True)
class Count:
    """Items and last write per namespace under ``prefix`` (None: the store cannot count).

    ``depth``: only the namespaces of that many labels (a store that counts by namespace
    may skip the levels above).
    """

    prefix: tuple[str, ...]
    depth: int | None = None


@dataclass(frozen=True)
class Numbers:
    """``store.numbers(namespace, paths, times=..., filter=...)``: a few numbers per item, no values
    (None: the store cannot)."""

    namespace: tuple[str, ...]
    paths: Sequence[tuple[str, ...]]
    times: Sequence[tuple[str, ...]] = ()
    filter: Mapping[str, Any] | None = None


def _answer(store: BaseStore, req: Any) -> Any:
    if isinstance(req, Batch):
        return search_batch(store, req.ops, req.modes)
    if isinstance(req, Apply):
        return apply_changes(store, req.changes, limits=req.limits)
    if isinstance(req, Recall):
        return recall(store, req.prefix, req.query, mode=req.mode, limit=req.limit, depth=req.depth,  # type: ignore[arg-type]
                      vector_weight=req.vector_weight)
    if isinstance(req, RecallBlock):
        return req.node.recall(list(req.messages), config=dict(req.config), store=store)
    if isinstance(req, Reflect):
        return req.node.reflect(list(req.messages), config=dict(req.config), store=store)
    if isinstance(req, FlushStats):
        return req.node.flush()
    if isinstance(req, Forget):
        return forget_user(store, req.prefix)
    if isinstance(req, Verify):
        fn = getattr(store, "scan_namespace_prefix", None)
        return fn(req.prefix) if callable(fn) else None
    if isinstance(req, Count):
        fn = getattr(store, "count_namespaces", None)
        return fn(req.prefix, depth=req.depth) if callable(fn) else None
    if isinstance(req, Numbers):
        fn = getattr(store, "numbers", None)
        if not callable(fn):
            return None
        return fn(req.namespace, req.paths, times=req.times, filter=dict(req.filter) if req.filter else None)
    raise TypeError(f"unknown request {req!r}")


async def _aanswer(store: BaseStore, req: Any) -> Any:
    if isinstance(req, Batch):
        return await asearch_batch(store, req.ops, req.modes)
    if isinstance(req, Apply):
        return await aapply_changes(store, req.changes, limits=req.limits)
    if isinstance(req, Recall):
        return await arecall(store, req.prefix, req.query, mode=req.mode, limit=req.limit, depth=req.depth,  # type: ignore[arg-type]
                             vector_weight=req.vector_weight)
    if isinstance(req, RecallBlock):
        return await req.node.arecall(list(req.messages), config=dict(req.config), store=store)
    if isinstance(req, Reflect):
        return await req.node.areflect(list(req.messages), config=dict(req.config), store=store)
    if isinstance(req, FlushStats):
        return await req.node.aflush()
    if isinstance(req, Forget):
        return await aforget_user(store, req.prefix)
    if isinstance(req, (Verify, Count)):
        name = "scan_namespace_prefix" if isinstance(req, Verify) else "count_namespaces"
        kwargs = {"depth": req.depth} if isinstance(req, Count) else {}
        fn = getattr(store, "a" + name, None)
        if callable(fn):
            return await fn(req.prefix, **kwargs)
        fn = getattr(store, name, None)
        return await asyncio.to_thread(fn, req.prefix, **kwargs) if callable(fn) else None
    if isinstance(req, Numbers):
        flt = dict(req.filter) if req.filter else None
        fn = getattr(store, "anumbers", None)
        if callable(fn):
            return await fn(req.namespace, req.paths, times=req.times, filter=flt)
        fn = getattr(store, "numbers", None)
        return await asyncio.to_thread(lambda: fn(req.namespace, req.paths, times=req.times, filter=flt)) if callable(fn) else None
    raise TypeError(f"unknown request {req!r}")


def translate(exc: BaseException) -> BaseException:
    """The :class:`ServiceError` for an error from the layers below (others pass through)."""
    import redis

    from langmem_ext.connection import IncompatibleServerError, RedisUnavailableError

    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, LimitExceededError):
        return LimitError(str(exc).split(" Raise or disable it")[0])
    if isinstance(exc, ConcurrentUpdateError):
        return ConflictError(f"{exc} Nothing was written; try again.")
    if isinstance(exc, (NamespaceTemplateError, InvalidNamespaceError)):
        return InvalidRequestError(str(exc))
    if isinstance(exc, (RedisUnavailableError, IncompatibleServerError)):
        return StoreUnavailableError(str(exc))
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return StoreUnavailableError(f"The store's Redis did not answer ({exc}); check REDIS_URL and that Redis runs.")
    return exc


def _step(op: Op_, reply: Any, error: BaseException | None) -> tuple[bool, Any]:
    try:
        return False, (op.throw(error) if error is not None else op.send(reply))
    except StopIteration as stop:
        return True, stop.value


def run_sync(store: BaseStore, op: Op_) -> Any:
    """Drive ``op`` to completion on the store's sync API."""
    reply: Any = None
    error: BaseException | None = None
    try:
        while True:
            done, value = _step(op, reply, error)
            if done:
                return value
            reply, error = None, None
            try:
                reply = _answer(store, value)
            except Exception as exc:  # handed to the operation, which may explain it
                error = translate(exc)
    except Exception as exc:
        translated = translate(exc)
        if translated is exc:
            raise
        raise translated from exc


async def run_async(store: BaseStore, op: Op_) -> Any:
    """The asyncio twin of :func:`run_sync` (the store's async API)."""
    reply: Any = None
    error: BaseException | None = None
    try:
        while True:
            done, value = _step(op, reply, error)
            if done:
                return value
            reply, error = None, None
            try:
                reply = await _aanswer(store, value)
            except Exception as exc:
                error = translate(exc)
    except Exception as exc:
        translated = translate(exc)
        if translated is exc:
            raise
        raise translated from exc
