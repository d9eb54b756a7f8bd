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

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph.store.base import BaseStore, GetOp, Item, PutOp

from langmem_ext.limits import Limits, check_limit, utf8_len
from langmem_ext.long_term._io import Batch, Call, Gen, Lock, Unlock, run_async, run_sync
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


_generations: OrderedDict[tuple[int, tuple[str, ...]], int] = OrderedDict()
_generations_lock = threading.Lock()
_clock = itertools.count(1)
_evicted = 0  # the newest generation dropped from the table: what a forgotten namespace reports
MAX_GENERATIONS = 10_000
"""Namespaces whose generation is remembered (the least recently written are dropped first)."""


def _bump(store: BaseStore, namespaces: Any) -> None:
    global _evicted
    with _generations_lock:
        for ns in {tuple(n) for n in namespaces}:
            key = (id(store), ns)
            _generations[key] = next(_clock)
            _generations.move_to_end(key)
        while len(_generations) > MAX_GENERATIONS:
            _evicted = max(_evicted, _generations.popitem(last=False)[1])


def namespace_generation(store: BaseStore, namespace: Sequence[str]) -> int:
    """A number that changes whenever this process writes ``namespace`` of ``store`` through
    this module (lets readers cache what they read, e.g. RecallNode's rules).

    Bounded (``MAX_GENERATIONS`` namespaces): a namespace dropped from the table reports the
    newest generation dropped, never the value it had, so a cache keyed by it misses rather
    than serving stale data.
    """
    with _generations_lock:
        return _generations.get((id(store), tuple(namespace)), _evicted)


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


def _put(store: BaseStore, namespace: Sequence[str], memories: Sequence[MemoryBase], index: list[str] | bool | None,
         limits: Limits | None) -> Gen[list[str]]:
    ops = _put_ops(namespace, memories, index, limits)  # everything checked before anything is written
    if ops:
        yield Batch(ops)
        _bump(store, [namespace])
    return [op.key for op in ops]


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
    return run_sync(store, _put(store, namespace, memories, index, limits))


async def aput_memories(
    store: BaseStore,
    namespace: Sequence[str],
    memories: Sequence[MemoryBase],
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
    limits: Limits | None = None,
) -> list[str]:
    """Async :func:`put_memories`."""
    return await run_async(store, _put(store, namespace, memories, index, limits))


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


def changes_gen(
    store: BaseStore,
    changes: Changes,
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
    concurrency: Concurrency = "auto",
    limits: Limits | None = None,
) -> Gen[Applied]:
    """:func:`apply_changes` as an operation (:mod:`~langmem_ext.long_term._io`), for other operations to ``yield from``."""
    _validate_changes(changes, limits)
    applied = Applied()
    if concurrency == "auto" and supports_cas(store):
        yield Batch([PutOp(ns, m.id, to_value(m), index=index) for ns, m in changes.inserts]
                    + [PutOp(ns, key, None) for ns, key in changes.deletes])
        for ns, key, mutate in changes.updates:
            for _ in range(MAX_CAS_RETRIES):
                item, version = yield Call("get_with_version", (ns, key))
                pair = _mutated(item, mutate, limits)
                if pair is None:
                    break
                new = pair[1]
                written = yield Call("put_if_version", (ns, key, to_value(new)),
                                     {"expected_version": version, "index": index})
                if written is not None:
                    applied.updated.append(key)
                    applied.memories[key] = new
                    break
            else:
                raise ConcurrentUpdateError(f"Memory {key!r} in {ns!r} changed {MAX_CAS_RETRIES} times while updating it.")
    else:
        locked = concurrency == "auto"  # "none": a plain read-modify-write (single-writer setups, tests)
        if locked:
            yield Lock()
        try:
            items = (yield Batch([GetOp(ns, key) for ns, key, _ in changes.updates])) if changes.updates else []
            yield Batch(_locked_ops(changes, items, applied, index, limits))
        finally:
            if locked:
                yield Unlock()
    _bump(store, [ns for ns, _ in changes.inserts] + [ns for ns, _ in changes.deletes] + [ns for ns, _, _ in changes.updates])
    applied.inserted = [m.id for _, m in changes.inserts]
    applied.memories.update({m.id: m for _, m in changes.inserts})
    applied.deleted = [key for _, key in changes.deletes]
    return applied


def apply_changes(
    store: BaseStore,
    changes: Changes,
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
    concurrency: Concurrency = "auto",
    limits: Limits | None = None,
) -> Applied:
    """Apply inserts, deletes and mutations without losing concurrent updates.

    Without compare-and-set everything is ONE ``store.batch`` of reads and one of writes,
    under the per-process lock (a thread lock; an asyncio lock per event loop in
    :func:`aapply_changes`). With ``put_if_version`` inserts and deletes are one batch and
    each mutation is a compare-and-set with retries.

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
    return run_sync(store, changes_gen(store, changes, index=index, concurrency=concurrency, limits=limits))


async def aapply_changes(
    store: BaseStore,
    changes: Changes,
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
    concurrency: Concurrency = "auto",
    limits: Limits | None = None,
) -> Applied:
    """Async :func:`apply_changes` (an asyncio lock per event loop when the store has no CAS)."""
    return await run_async(store, changes_gen(store, changes, index=index, concurrency=concurrency, limits=limits))


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


def _updates(targets: Sequence[tuple[Sequence[str], str]], mutate: Mutation) -> Changes:
    return Changes(updates=[(tuple(ns), key, _bumping(mutate)) for ns, key in targets])


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
    return apply_changes(store, _updates(targets, mutate), index=index, concurrency=concurrency, limits=limits)


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
    return await aapply_changes(store, _updates(targets, mutate), index=index, concurrency=concurrency, limits=limits)


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
