"""How the service runs its operations: long-term memory's driver, with the service's errors.

Every service operation (in :mod:`langmem_ext.service._ops` and ``._overview``) is a
generator in the style of :mod:`langmem_ext.long_term._io`: it yields that module's
requests (``Batch``, ``Call``, ``Twin``) and ``yield from``-s long-term memory's own
operations (``recall_gen``, ``changes_gen``, ``forget_user_gen``, ``RecallNode._recall``,
``ReflectionNode._reflect``), so a request from the service and one from a graph node go
through the same code and the same two drivers. What this module adds is one thing:
errors from below leave as :class:`~langmem_ext.service.errors.ServiceError` subclasses.

Example:
    >>> from langgraph.store.memory import InMemoryStore
    >>> store = InMemoryStore()
    >>> def count_users():
    ...     return (yield from optional_call(store, "count_namespaces", ("memories",)))
    >>> run_sync(store, count_users()) is None  # the in-memory store cannot count
    True
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from langgraph.store.base import BaseStore, InvalidNamespaceError

from langmem_ext.limits import LimitExceededError
from langmem_ext.long_term import _io
from langmem_ext.long_term._io import Batch, Call, Twin
from langmem_ext.long_term.namespaces import NamespaceTemplateError
from langmem_ext.long_term.writer import ConcurrentUpdateError
from langmem_ext.service.errors import (
    ConflictError,
    InvalidRequestError,
    LimitError,
    ServiceError,
    StoreUnavailableError,
)

__all__ = ["Batch", "Call", "Op_", "Twin", "optional_call", "run_async", "run_sync", "translate"]

Op_ = Generator[Any, Any, Any]


def optional_call(store: BaseStore, name: str, *args: Any, **kwargs: Any) -> Op_:
    """``store.<name>(*args, **kwargs)`` (its ``a``-twin when driven async), or None on a
    store without that method (a LangGraph store that is not ours)."""
    if not callable(getattr(store, name, None)):
        return None
    return (yield Call(name, args, kwargs))


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


def run_sync(store: BaseStore, op: Op_) -> Any:
    """Drive ``op`` to completion on the store's sync API (:func:`langmem_ext.long_term._io.run_sync`)."""
    try:
        return _io.run_sync(store, op)
    except Exception as exc:
        translated = translate(exc)
        if translated is exc:
            raise
        raise translated from exc


async def run_async(store: BaseStore, op: Op_) -> Any:
    """The asyncio twin of :func:`run_sync`."""
    try:
        return await _io.run_async(store, op)
    except Exception as exc:
        translated = translate(exc)
        if translated is exc:
            raise
        raise translated from exc
