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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.store.base import BaseStore, PutOp

from langmem_ext.long_term.schemas import INDEX_FIELDS, MemoryBase, to_value

__all__ = ["put_memories", "aput_memories", "check_namespace"]


def check_namespace(namespace: Sequence[str]) -> tuple[str, ...]:
    """Validate a concrete namespace and return it as a tuple.

    Raises:
        ValueError: Empty, non-string or empty-string labels, or a label still
            holding an unfilled ``{template}`` (resolve templates first with
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
        if "{" in label and "}" in label:
            raise ValueError(
                f"Namespace {ns!r} still holds a template label {label!r}; "
                "fill it from the run config with resolve_namespace(template, config)."
            )
        if "." in label:
            raise ValueError(f"Namespace label {label!r} must not contain '.' (LangGraph stores reject it).")
    return ns


def _put_ops(namespace: Sequence[str], memories: Sequence[MemoryBase], index: list[str] | bool | None) -> list[PutOp]:
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
        value: dict[str, Any] = to_value(memory)
        ops.append(PutOp(ns, memory.id, value, index=index))
    return ops


def put_memories(
    store: BaseStore,
    namespace: Sequence[str],
    memories: Sequence[MemoryBase],
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
) -> list[str]:
    """Write (insert or overwrite) memories in one store batch.

    All inputs are validated before anything is written, so bad input leaves
    the store unchanged.

    Args:
        store: Any LangGraph ``BaseStore``.
        namespace: A concrete namespace tuple, e.g. ``("memories", "u1", "semantic")``.
        memories: Memories to write; each is stored under its ``id``.
        index: Fields to embed (default ``["content"]``); ``False`` to skip embedding.

    Returns:
        The keys written, in input order.
    """
    ops = _put_ops(namespace, memories, index)
    if ops:
        store.batch(ops)
    return [op.key for op in ops]


async def aput_memories(
    store: BaseStore,
    namespace: Sequence[str],
    memories: Sequence[MemoryBase],
    *,
    index: list[str] | bool | None = INDEX_FIELDS,
) -> list[str]:
    """Async :func:`put_memories`."""
    ops = _put_ops(namespace, memories, index)
    if ops:
        await store.abatch(ops)
    return [op.key for op in ops]
