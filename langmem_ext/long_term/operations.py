"""Memory operations (insert / update / close / delete) and how they change memories.

Pure functions only: :func:`reflection_schema` builds the ONE structured-output
schema a reflection LLM call returns (operations for every memory kind), and
:func:`plan_changes` turns those operations into :class:`Changes` — inserts,
deletes, and *mutations* (functions applied to the freshest stored copy, so a
compare-and-set retry re-applies them instead of losing a concurrent update).

Example:
    >>> from langmem_ext.long_term.schemas import SemanticMemory
    >>> old = SemanticMemory(content="Lives in Paris")
    >>> Schema = reflection_schema(["semantic"])
    >>> result = Schema.model_validate({"operations": [
    ...     {"action": "close", "id": old.id, "reason": "moved"},
    ...     {"action": "insert", "kind": "semantic", "memory": {"content": "Lives in Lisbon"}, "reason": "moved"},
    ... ]})
    >>> changes = plan_changes(result.operations, known={old.id: (("m", "u1", "semantic"), old)},
    ...                        namespaces={"semantic": ("m", "u1", "semantic")})
    >>> [m.content for _, m in changes.inserts], len(changes.updates)
    (['Lives in Lisbon'], 1)
    >>> closed = changes.updates[0][2](old)
    >>> closed.valid_to is not None, closed.version, closed.history[-1].op
    (True, 2, 'close')
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Union

from pydantic import BaseModel, Field, create_model

from langmem_ext.long_term.schemas import ChangeRecord, MemoryBase, memory_kinds, memory_text, utcnow

__all__ = [
    "BOOKKEEPING_FIELDS",
    "MAX_HISTORY",
    "Changes",
    "Mutation",
    "content_schema",
    "reflection_schema",
    "plan_changes",
    "record_change",
]

logger = logging.getLogger(__name__)

MAX_HISTORY = 20
"""Change records kept per memory (oldest dropped first)."""

BOOKKEEPING_FIELDS = frozenset(MemoryBase.model_fields) - {"importance"}
"""Fields the writer owns; never asked of (nor accepted from) an LLM."""

Mutation = Callable[[MemoryBase], "MemoryBase | None"]
"""Returns the new version of a memory, or None to leave it unchanged."""


@dataclass
class Changes:
    """What to write: new memories, deletions and mutations of stored ones."""

    inserts: list[tuple[tuple[str, ...], MemoryBase]] = field(default_factory=list)
    deletes: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    updates: list[tuple[tuple[str, ...], str, Mutation]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.deletes or self.updates)


def content_schema(kind: str) -> type[BaseModel]:
    """The LLM-facing part of a memory kind: its fields minus the bookkeeping ones."""
    model = _model_for(kind)
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in BOOKKEEPING_FIELDS or name == "kind":
            continue
        fields[name] = (info.annotation, info)
    return create_model(f"{model.__name__}Content", __doc__=model.__doc__, **fields)


def _model_for(kind: str) -> type[MemoryBase]:
    registry = memory_kinds()
    if kind not in registry:
        raise ValueError(f"Unknown memory kind {kind!r}; known: {sorted(registry)} (register_memory_kind adds more).")
    return registry[kind]


def reflection_schema(kinds: Sequence[str]) -> type[BaseModel]:
    """The structured-output schema of one reflection call, covering ``kinds``."""
    if not kinds:
        raise ValueError("reflection_schema needs at least one memory kind, e.g. ['semantic'].")
    variants: list[type[BaseModel]] = []
    for kind in kinds:
        content = content_schema(kind)
        variants.append(
            create_model(
                f"Insert{kind.title()}",
                __doc__=f"Store a new {kind} memory.",
                action=(Literal["insert"], Field(description="Create a new memory.")),
                kind=(Literal[kind], Field(description="The memory kind.")),  # type: ignore[valid-type]
                memory=(content, Field(description=f"The new {kind} memory.")),
                reason=(str, Field(default="", description="Why this is worth remembering.")),
            )
        )
        variants.append(
            create_model(
                f"Update{kind.title()}",
                __doc__=f"Rewrite an existing {kind} memory (refinement of the same fact, not a contradiction).",
                action=(Literal["update"], Field(description="Replace the memory's fields.")),
                kind=(Literal[kind], Field(description="The memory kind.")),  # type: ignore[valid-type]
                id=(str, Field(description="Id of the existing memory, exactly as listed.")),
                memory=(content, Field(description="The full new content.")),
                reason=(str, Field(default="", description="Why it changed.")),
            )
        )
    close = create_model(
        "CloseMemory",
        __doc__="Mark an existing memory as no longer true (e.g. the user moved); keeps it as history.",
        action=(Literal["close"], Field(description="End the memory's validity.")),
        id=(str, Field(description="Id of the existing memory, exactly as listed.")),
        reason=(str, Field(default="", description="What changed.")),
    )
    delete = create_model(
        "DeleteMemory",
        __doc__="Remove an existing memory that is wrong or that the user asked to forget.",
        action=(Literal["delete"], Field(description="Remove the memory.")),
        id=(str, Field(description="Id of the existing memory, exactly as listed.")),
        reason=(str, Field(default="", description="Why it is removed.")),
    )
    variants += [close, delete]
    op_type = Union[tuple(variants)]  # type: ignore[valid-type]
    return create_model(
        "MemoryOperations",
        __doc__=(
            "All memory changes warranted by the new messages. Return an empty list when nothing is worth "
            "remembering. When a fact changes, close the old memory and insert the new one; never duplicate."
        ),
        operations=(list[op_type], Field(default_factory=list, description="Operations, in order.")),  # type: ignore[valid-type]
    )


def record_change(
    memory: MemoryBase, *, op: str, old: str | None, reason: str, now: datetime, bump: bool = True
) -> MemoryBase:
    """Append a change record (bounded) and bump version/updated_at; returns a copy."""
    rec = ChangeRecord(at=now, op=op, old=old, new=memory_text(memory), reason=reason)  # type: ignore[arg-type]
    history = [*memory.history, rec][-MAX_HISTORY:]
    update: dict[str, Any] = {"history": history}
    if bump:
        update |= {"version": memory.version + 1, "updated_at": now}
    return memory.model_copy(update=update)


def _insert(kind: str, content: BaseModel | Mapping[str, Any], reason: str, now: datetime) -> MemoryBase:
    data = content.model_dump() if isinstance(content, BaseModel) else dict(content)
    memory = _model_for(kind).model_validate({**data, "created_at": now, "updated_at": now})
    return record_change(memory, op="insert", old=None, reason=reason, now=now, bump=False)


def _update_mutation(content: BaseModel | Mapping[str, Any], reason: str, now: datetime) -> Mutation:
    data = content.model_dump() if isinstance(content, BaseModel) else dict(content)

    def mutate(memory: MemoryBase) -> MemoryBase | None:
        fields = {k: v for k, v in data.items() if k in type(memory).model_fields and k not in BOOKKEEPING_FIELDS}
        merged = type(memory).model_validate({**memory.model_dump(), **fields})
        if merged.model_dump(exclude=BOOKKEEPING_FIELDS) == memory.model_dump(exclude=BOOKKEEPING_FIELDS):
            return None
        return record_change(merged, op="update", old=memory_text(memory), reason=reason, now=now)

    return mutate


def _close_mutation(reason: str, now: datetime) -> Mutation:
    def mutate(memory: MemoryBase) -> MemoryBase | None:
        if "valid_to" in type(memory).model_fields:
            if getattr(memory, "valid_to") is not None:
                return None
            closed = memory.model_copy(update={"valid_to": now})
        else:
            if memory.status == "archived":
                return None
            closed = memory.model_copy(update={"status": "archived"})
        return record_change(closed, op="close", old=memory_text(memory), reason=reason, now=now)

    return mutate


def plan_changes(
    operations: Sequence[Any],
    *,
    known: Mapping[str, tuple[tuple[str, ...], MemoryBase]],
    namespaces: Mapping[str, tuple[str, ...]],
    now: datetime | None = None,
    allowed_kinds: Sequence[str] | None = None,
) -> Changes:
    """Turn LLM operations into :class:`Changes`.

    Args:
        operations: Items of a :func:`reflection_schema` result (models or dicts).
        known: Memories shown to the model: id → (namespace, memory). Operations
            on other ids are ignored with a warning (models invent ids).
        namespaces: Concrete namespace per kind, for inserts.
        now: Timestamp for the change (default: now, UTC).
        allowed_kinds: Kinds that may be inserted/updated here (default: all of
            ``namespaces``); others are dropped with a warning.
    """
    now = now or utcnow()
    allowed = set(allowed_kinds if allowed_kinds is not None else namespaces)
    changes = Changes()
    touched: set[str] = set()
    for raw in operations:
        op = raw.model_dump() if isinstance(raw, BaseModel) else dict(raw)
        action, reason = op.get("action"), op.get("reason") or ""
        if action == "insert":
            kind = op.get("kind")
            if kind not in allowed or kind not in namespaces:
                logger.warning("Dropping insert of kind %r: not allowed here.", kind)
                continue
            try:
                memory = _insert(kind, op.get("memory") or {}, reason, now)
            except ValueError as exc:
                logger.warning("Dropping invalid %s insert: %s", kind, exc)
                continue
            changes.inserts.append((namespaces[kind], memory))
            continue
        target = op.get("id")
        if target not in known:
            logger.warning("Dropping %s of unknown memory id %r.", action, target)
            continue
        if target in touched:
            logger.warning("Dropping second operation on memory %r in one reflection.", target)
            continue
        ns, memory = known[target]
        if action in ("update", "close") and memory.kind not in allowed:
            logger.warning("Dropping %s of %s memory %r: kind not allowed here.", action, memory.kind, target)
            continue
        touched.add(target)
        if action == "update":
            changes.updates.append((ns, target, _update_mutation(op.get("memory") or {}, reason, now)))
        elif action == "close":
            changes.updates.append((ns, target, _close_mutation(reason, now)))
        elif action == "delete":
            if memory.kind not in allowed:
                logger.warning("Dropping delete of %s memory %r: kind not allowed here.", memory.kind, target)
                continue
            changes.deletes.append((ns, target))
        else:
            logger.warning("Dropping unknown operation %r.", action)
    return changes
