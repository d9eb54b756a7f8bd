"""The write path for long-term memories: every memory reaches a store through here.

``put_memories(store, namespace, memories)`` writes memories (any schema from
:mod:`langmem_ext.long_term.schemas`) as ONE ``store.batch`` of ``PutOp`` whose
key is ``memory.id`` and whose value is ``to_value(memory)``; the vector index
embeds the value's ``"content"`` field (``index=INDEX_FIELDS``).

Example:
    >>> from langgraph.store.memory import InMemoryStore
    >>> from langmem_ext.long_term.schemas import SemanticMemory
    >>> store = InMemoryStore()
    >>> fact = SemanticMemory(content="Likes green tea", source_ids=["m1"])
    >>> put_memories(store, ("memories", "u1", "semantic"), [fact]) == [fact.id]
    True
    >>> store.get(("memories", "u1", "semantic"), fact.id).value["content"]
    'Likes green tea'

Changes to stored memories (:class:`~langmem_ext.long_term.operations.Changes`)
go through :func:`apply_changes` / :func:`aapply_changes`, which never lose a
concurrent update:

* on a store with ``put_if_version(namespace, key, value, *, expected_version,
  index=None)`` (our ``RedisStore``) each mutation is a compare-and-set; on a
  conflict the memory is re-read and the mutation re-applied (bounded retries);
* on any other store a per-process lock (one per store object) serialises the
  read-modify-write of every writer in this process. It does NOT protect
  against writers in other processes: use ``RedisStore`` for that.

The CAS token is the store's own item version (``get_with_version``); the
memory's ``version`` field is its revision number, bumped by every change.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph.store.base import BaseStore, GetOp, Item, PutOp

from langmem_ext.limits import Limits, check_limit, utf8_len
from langmem_ext.long_term.namespaces import unfilled_placeholders
from langmem_ext.long_term.operations import Changes, Mutation
from langmem_ext.long_term.schemas import INDEX_FIELDS, MemoryBase, from_value, memory_text, to_value

__all__ = [
    "put_memories",
    "aput_memories",
    "apply_changes",
    "aapply_changes",
    "update_memories",
    "aupdate_memories",
    "Applied",
    "ConcurrentUpdateError",
    "check_namespace",
    "check_memory_size",
    "supports_cas",
    "namespace_generation",
]

logger = logging.getLogger(__name__)

MAX_CAS_RETRIES = 16
Concurrency = Literal["auto", "none"]


class ConcurrentUpdateError(RuntimeError):
    """A compare-and-set kept failing: another writer changes the memory continuously."""


@dataclass
class Applied:
    """What a write did: keys inserted, updated (changed) and deleted."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    memories: dict[str, MemoryBase] = field(default_factory=dict)
    """The written version of every inserted or updated memory, by id."""


def supports_cas(store: BaseStore) -> bool:
    """Whether ``store`` offers ``put_if_version`` + ``get_with_version`` (compare-and-set)."""
    return callable(getattr(store, "put_if_version", None)) and callable(getattr(store, "get_with_version", None))


_sync_locks: "weakref.WeakKeyDictionary[BaseStore, threading.Lock]" = weakref.WeakKeyDictionary()
_async_locks: "weakref.WeakKeyDictionary[BaseStore, dict[int, asyncio.Lock]]" = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


_generations: dict[tuple[int, tuple[str, ...]], int] = {}


def _bump(store: BaseStore, namespaces: Any) -> None:
    with _registry_lock:
        for ns in {tuple(n) for n in namespaces}:
            _generations[(id(store), ns)] = _generations.get((id(store), ns), 0) + 1


def namespace_generation(store: BaseStore, namespace: Sequence[str]) -> int:
    """How many writes this process made through this module to ``namespace`` of ``store``
    (lets readers cache what they read, e.g. RecallNode's rules)."""
    return _generations.get((id(store), tuple(namespace)), 0)


def _sync_lock(store: BaseStore) -> threading.Lock:
    with _registry_lock:
        lock = _sync_locks.get(store)
        if lock is None:
            lock = _sync_locks[store] = threading.Lock()
        return lock


def _async_lock(store: BaseStore) -> asyncio.Lock:
    loop_id = id(asyncio.get_running_loop())
    with _registry_lock:
        per_loop = _async_locks.setdefault(store, {})
        lock = per_loop.get(loop_id)
        if lock is None:
            lock = per_loop[loop_id] = asyncio.Lock()
        return lock


def check_namespace(namespace: Sequence[str]) -> tuple[str, ...]:
    """Validate a concrete namespace and return it as a tuple.

    Raises:
        ValueError: Empty, non-string or empty-string labels, or a label still
            holding an unfilled template placeholder such as ``{user_id}`` (braces
            inside a real id are fine; resolve templates first with
            ``resolve_namespace``).
    """
    if isinstance(namespace, str):
        raise ValueError(f"Namespace must be a tuple of strings, not the string {namespace!r}; write ({namespace!r},).")
    ns = tuple(namespace)
    if not ns:
        raise ValueError("Namespace must not be empty, e.g. ('memories', user_id, 'semantic').")
    for label in ns:
        if not isinstance(label, str) or not label:
            raise ValueError(f"Namespace labels must be non-empty strings; got {label!r} in {ns!r}.")
        if unfilled_placeholders(label):
            raise ValueError(
                f"Namespace {ns!r} still holds the template placeholder {{{unfilled_placeholders(label)[0]}}} "
                f"in {label!r}; fill it from the run config with resolve_namespace(template, config)."
            )
        if "." in label:
            raise ValueError(f"Namespace label {label!r} must not contain '.' (LangGraph stores reject it).")
    return ns


def check_memory_size(memory: MemoryBase, *, limits: Limits | None = None) -> None:
    """Raise :class:`~langmem_ext.limits.LimitExceededError` if the memory's text is over
    ``limits.memory_bytes`` (default 4 KiB; ``limits=None`` means the defaults)."""
    check_limit(limits if limits is not None else Limits(), "memory_bytes", utf8_len(memory_text(memory)),
                what=f"The text of memory {memory.id!r} ({memory.kind})", owner="put_memories",
                fix="A memory should be one fact, episode or rule: split it into several memories.")


def _put_ops(namespace: Sequence[str], memories: Sequence[MemoryBase], index: list[str] | bool | None,
             limits: Limits | None) -> list[PutOp]:
    ns = check_namespace(namespace)
    ops: list[PutOp] = []
    seen: set[str] = set()
    for memory in memories:
        if not isinstance(memory, MemoryBase):
            raise TypeError(
                f"put_memories expects MemoryBase instances (SemanticMemory, EpisodicMemory, ...), got {type(memory).__name__}."
            )
        if memory.id in seen:
            raise ValueError(f"Memory id {memory.id!r} appears twice in one write; ids are store keys and must be unique.")
        seen.add(memory.id)
        check_memory_size(memory, limits=limits)
        value: dict[str, Any] = to_value(memory)
        ops.append(PutOp(ns, memory.id, value, index=index))
    return ops


def put_memories(
    store: BaseStore,
    namespace: Sequence[str],
    memories: Sequence[MemoryBase],
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
    limits: Limits | None = None,
) -> list[str]:
    """Write (insert or overwrite) memories in one store batch.

    All inputs are validated before anything is written, so bad input leaves
    the store unchanged.

    Args:
        store: Any LangGraph ``BaseStore``.
        namespace: A concrete namespace tuple, e.g. ``("memories", "u1", "semantic")``.
        memories: Memories to write; each is stored under its ``id``.
        index: Fields to embed (default ``["content"]``); ``False`` to skip embedding.
        limits: Size limits (``memory_bytes``, default 4 KiB of text per memory; ``None``
            uses the defaults). A memory over it raises ``LimitExceededError`` and
            nothing is written.

    Returns:
        The keys written, in input order.
    """
    ops = _put_ops(namespace, memories, index, limits)
    if ops:
        store.batch(ops)
        _bump(store, [namespace])
    return [op.key for op in ops]


async def aput_memories(
    store: BaseStore,
    namespace: Sequence[str],
    memories: Sequence[MemoryBase],
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
    limits: Limits | None = None,
) -> list[str]:
    """Async :func:`put_memories`."""
    ops = _put_ops(namespace, memories, index, limits)
    if ops:
        await store.abatch(ops)
        _bump(store, [namespace])
    return [op.key for op in ops]


def _mutated(item: Item | None, mutate: Mutation, limits: Limits | None) -> tuple[MemoryBase, MemoryBase] | None:
    """(old, new) for a stored item, or None when missing or unchanged."""
    if item is None:
        return None
    old = from_value(item.value, key=item.key)
    new = mutate(old)
    if new is None:
        return None
    if new.id != old.id:
        raise ValueError(f"A mutation changed memory id {old.id!r} to {new.id!r}; ids are store keys and never change.")
    if memory_text(new) != memory_text(old):  # e.g. reinforcement leaves the text (and its size) alone
        check_memory_size(new, limits=limits)
    return old, new


def _validate_changes(changes: Changes, limits: Limits | None) -> None:
    for ns, memory in changes.inserts:
        check_namespace(ns)
        check_memory_size(memory, limits=limits)
    for ns, _ in changes.deletes:
        check_namespace(ns)
    for ns, _, _ in changes.updates:
        check_namespace(ns)


def apply_changes(
    store: BaseStore,
    changes: Changes,
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
    concurrency: Concurrency = "auto",
    limits: Limits | None = None,
) -> Applied:
    """Apply inserts, deletes and mutations without losing concurrent updates.

    Without compare-and-set everything is ONE ``store.batch`` (reads first, under
    the per-process lock). With ``put_if_version`` inserts and deletes are one
    batch and each mutation is a compare-and-set with retries.

    Args:
        store: Any LangGraph ``BaseStore``.
        changes: From :func:`~langmem_ext.long_term.operations.plan_changes` or built by hand.
        index: Fields to embed for written memories.
        concurrency: ``"auto"`` (CAS or lock, see module doc) or ``"none"``: a
            plain read-modify-write for single-writer setups (loses updates when
            two writers race; tests use it to show why "auto" exists).

    Raises:
        ConcurrentUpdateError: A compare-and-set failed ``MAX_CAS_RETRIES`` times.
        LimitExceededError: A memory's text is over ``limits.memory_bytes`` (``limits=None``:
            the defaults). Inserts are checked before anything is written; an update
            is checked once its new text is known, and is then not written.
    """
    _validate_changes(changes, limits)
    applied = Applied()
    if concurrency == "auto" and supports_cas(store):
        ops = [PutOp(ns, m.id, to_value(m), index=index) for ns, m in changes.inserts]
        ops += [PutOp(ns, key, None) for ns, key in changes.deletes]
        if ops:
            store.batch(ops)
        for ns, key, mutate in changes.updates:
            for _ in range(MAX_CAS_RETRIES):
                item, version = store.get_with_version(ns, key)  # type: ignore[attr-defined]
                pair = _mutated(item, mutate, limits)
                if pair is None:
                    break
                new = pair[1]
                if store.put_if_version(ns, key, to_value(new), expected_version=version, index=index) is not None:  # type: ignore[attr-defined]
                    applied.updated.append(key)
                    applied.memories[key] = new
                    break
            else:
                raise ConcurrentUpdateError(f"Memory {key!r} in {ns!r} changed {MAX_CAS_RETRIES} times while updating it.")
    else:
        lock = _sync_lock(store) if concurrency == "auto" else None
        if lock is not None:
            lock.acquire()
        try:
            items = store.batch([GetOp(ns, key) for ns, key, _ in changes.updates]) if changes.updates else []
            ops = _locked_ops(changes, items, applied, index, limits)
            if ops:
                store.batch(ops)
        finally:
            if lock is not None:
                lock.release()
    _bump(store, [ns for ns, _ in changes.inserts] + [ns for ns, _ in changes.deletes] + [ns for ns, _, _ in changes.updates])
    applied.inserted = [m.id for _, m in changes.inserts]
    applied.memories.update({m.id: m for _, m in changes.inserts})
    applied.deleted = [key for _, key in changes.deletes]
    return applied


def _locked_ops(changes: Changes, items: Sequence[Any], applied: Applied, index: list[str] | bool | None,
                limits: Limits | None) -> list[PutOp]:
    ops = [PutOp(ns, m.id, to_value(m), index=index) for ns, m in changes.inserts]
    for (ns, key, mutate), item in zip(changes.updates, items):
        pair = _mutated(item, mutate, limits)
        if pair is not None:
            ops.append(PutOp(ns, key, to_value(pair[1]), index=index))
            applied.updated.append(key)
            applied.memories[key] = pair[1]
    ops += [PutOp(ns, key, None) for ns, key in changes.deletes]
    return ops


async def aapply_changes(
    store: BaseStore,
    changes: Changes,
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
    concurrency: Concurrency = "auto",
    limits: Limits | None = None,
) -> Applied:
    """Async :func:`apply_changes` (per-event-loop lock when the store has no CAS)."""
    _validate_changes(changes, limits)
    applied = Applied()
    if concurrency == "auto" and supports_cas(store):
        ops = [PutOp(ns, m.id, to_value(m), index=index) for ns, m in changes.inserts]
        ops += [PutOp(ns, key, None) for ns, key in changes.deletes]
        if ops:
            await store.abatch(ops)
        aput = getattr(store, "aput_if_version", None)
        aget = getattr(store, "aget_with_version", None)
        for ns, key, mutate in changes.updates:
            for _ in range(MAX_CAS_RETRIES):
                if aget is not None:
                    item, version = await aget(ns, key)
                else:
                    item, version = await asyncio.to_thread(store.get_with_version, ns, key)  # type: ignore[attr-defined]
                pair = _mutated(item, mutate, limits)
                if pair is None:
                    break
                new = pair[1]
                value = to_value(new)
                if aput is not None:
                    written = await aput(ns, key, value, expected_version=version, index=index)
                else:
                    written = await asyncio.to_thread(
                        lambda: store.put_if_version(ns, key, value, expected_version=version, index=index)  # type: ignore[attr-defined]
                    )
                if written is not None:
                    applied.updated.append(key)
                    applied.memories[key] = new
                    break
            else:
                raise ConcurrentUpdateError(f"Memory {key!r} in {ns!r} changed {MAX_CAS_RETRIES} times while updating it.")
    elif concurrency == "auto":
        async with _async_lock(store):
            items = await store.abatch([GetOp(ns, key) for ns, key, _ in changes.updates]) if changes.updates else []
            ops = _locked_ops(changes, items, applied, index, limits)
            if ops:
                await store.abatch(ops)
    else:
        items = await store.abatch([GetOp(ns, key) for ns, key, _ in changes.updates]) if changes.updates else []
        ops = _locked_ops(changes, items, applied, index, limits)
        if ops:
            await store.abatch(ops)
    _bump(store, [ns for ns, _ in changes.inserts] + [ns for ns, _ in changes.deletes] + [ns for ns, _, _ in changes.updates])
    applied.inserted = [m.id for _, m in changes.inserts]
    applied.memories.update({m.id: m for _, m in changes.inserts})
    applied.deleted = [key for _, key in changes.deletes]
    return applied


def update_memories(
    store: BaseStore,
    targets: Sequence[tuple[Sequence[str], str]],
    mutate: Mutation,
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
    concurrency: Concurrency = "auto",
    limits: Limits | None = None,
) -> Applied:
    """Apply one mutation to several stored memories (read-modify-write, never losing updates).

    Args:
        store: Any LangGraph ``BaseStore``.
        targets: ``(namespace, key)`` pairs; missing keys are skipped.
        mutate: Returns the new memory, or None to leave it as is. The caller
            bumps ``version`` (e.g. with ``record_change`` or ``model_copy``).
    """
    changes = Changes(updates=[(tuple(ns), key, _bumping(mutate)) for ns, key in targets])
    return apply_changes(store, changes, index=index, concurrency=concurrency, limits=limits)


async def aupdate_memories(
    store: BaseStore,
    targets: Sequence[tuple[Sequence[str], str]],
    mutate: Mutation,
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
    concurrency: Concurrency = "auto",
    limits: Limits | None = None,
) -> Applied:
    """Async :func:`update_memories`."""
    changes = Changes(updates=[(tuple(ns), key, _bumping(mutate)) for ns, key in targets])
    return await aapply_changes(store, changes, index=index, concurrency=concurrency, limits=limits)


def _bumping(mutate: Mutation) -> Mutation:
    """Make sure every changed memory gets a higher version (the CAS token)."""

    def wrapped(memory: MemoryBase) -> MemoryBase | None:
        new = mutate(memory)
        if new is None:
            return None
        if new.version <= memory.version:
            new = new.model_copy(update={"version": memory.version + 1})
        return new

    return wrapped
