"""Long-term memory schemas: semantic facts, episodes and procedural rules.

Every memory is a pydantic v2 model whose fields carry descriptions, so the
same classes serve as LLM tool / structured-output schemas. A memory is stored
in a LangGraph ``BaseStore`` under its ``id`` as ``value = to_value(memory)``:

* the model's ``model_dump(mode="json")`` (datetimes as ISO-8601 strings),
* plus a top-level ``"content"`` string: the text the store's vector index
  embeds (``INDEX_FIELDS = ["content"]``; the writer passes ``index=INDEX_FIELDS``
  on every put, so the store's own ``fields`` setting does not matter),
* plus ``"kind"`` (``"semantic"``, ``"episodic"``, ``"procedural"`` or a
  registered custom kind), used to read the value back with ``from_value``.

For a :class:`SemanticMemory` the ``content`` is the fact itself; for
:class:`EpisodicMemory` and :class:`ProceduralMemory` it is computed from
their fields (a computed field, so it is written but never asked of an LLM).

Example:
    >>> from datetime import datetime, timezone
    >>> fact = SemanticMemory(subject="user", content="Lives in Lisbon", source_ids=["D1:3"])
    >>> value = to_value(fact)
    >>> value["kind"], value["content"], value["source_ids"]
    ('semantic', 'Lives in Lisbon', ['D1:3'])
    >>> turn = EpisodicMemory(
    ...     situation="Caroline: I went to a support group yesterday.",
    ...     occurred_at=datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc),
    ...     participants=["Caroline"],
    ... )
    >>> to_value(turn)["content"]
    '[2023-05-08] Caroline: I went to a support group yesterday.'
    >>> from_value(to_value(turn)).occurred_at.year
    2023
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

__all__ = [
    "INDEX_FIELDS",
    "MemoryBase",
    "SemanticMemory",
    "EpisodicMemory",
    "ProceduralMemory",
    "ChangeRecord",
    "register_memory_kind",
    "memory_kinds",
    "to_value",
    "from_value",
    "memory_text",
    "utcnow",
]

INDEX_FIELDS: list[str] = ["content", "index_keys"]
"""Fields of a stored value that the store's index embeds (and searches by BM25): the
``content``, and the memory's extra ``keys`` joined (``"index_keys"``, present only when it has
keys), as a second vector."""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def _new_id() -> str:
    return str(uuid.uuid4())


class ChangeRecord(BaseModel):
    """One entry of a memory's change history."""

    at: datetime = Field(default_factory=utcnow, description="When the change was applied (UTC).")
    op: Literal["insert", "update", "close", "delete", "archive"] = Field(
        description="What happened to the memory."
    )
    old: str | None = Field(default=None, description="The memory's content before the change.")
    new: str | None = Field(default=None, description="The memory's content after the change.")
    reason: str = Field(default="", description="Why the change was made.")


class MemoryBase(BaseModel):
    """Fields common to every memory kind.

    Subclasses set ``kind`` to a ``Literal`` default and may define ``content``
    (a field or a computed field) as the text that is embedded and shown.
    """

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=_new_id, description="Stable identifier; the store key.")
    kind: str = Field(description="Memory kind: semantic, episodic, procedural or a custom one.")
    importance: int = Field(
        default=5, ge=1, le=10, description="How much this matters for future conversations, 1 (trivia) to 10 (critical)."
    )
    created_at: datetime = Field(default_factory=utcnow, description="When the memory was first written (UTC).")
    updated_at: datetime = Field(default_factory=utcnow, description="When the memory last changed (UTC).")
    last_accessed_at: datetime | None = Field(
        default=None, description="When the memory was last recalled (UTC); None if never."
    )
    access_count: int = Field(default=0, ge=0, description="How many times the memory was recalled.")
    strength: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Retention strength in [0, 1]; decays with disuse, reinforced by recall."
    )
    pinned: bool = Field(default=False, description="Pinned memories are never forgotten.")
    status: Literal["active", "archived"] = Field(
        default="active", description="Archived memories are kept but no longer recalled."
    )
    version: int = Field(default=1, ge=1, description="Revision number, incremented by every update.")
    history: list[ChangeRecord] = Field(
        default_factory=list, description="Change history, oldest first (bounded)."
    )
    keys: list[str] = Field(
        default_factory=list,
        description="Extra index keys: words or phrasings a question may use that the content lacks (the "
        "attribute a fact sets, e.g. 'diet' for 'User is vegetarian'; aliases). Searched, never shown.",
    )

    @field_validator("created_at", "updated_at", "last_accessed_at", check_fields=False)
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class SemanticMemory(MemoryBase):
    """A fact about the user or the world, valid over a period of time.

    A fact that stops being true is closed (``valid_to`` set), not overwritten.
    """

    kind: Literal["semantic"] = Field(default="semantic", description="Always 'semantic'.")
    subject: str = Field(default="user", description="Who or what the fact is about, e.g. 'user', 'Caroline', 'project X'.")
    content: str = Field(min_length=1, description="The fact as one self-contained sentence, e.g. 'Lives in Lisbon'.")
    confidence: float = Field(default=0.8, ge=0.0, le=1.0, description="How sure we are the fact is true, 0 to 1.")
    source_ids: list[str] = Field(
        default_factory=list, description="Ids of the messages (or dialogue turns) the fact was drawn from."
    )
    valid_from: datetime | None = Field(default=None, description="Since when the fact holds (UTC), if known.")
    valid_to: datetime | None = Field(
        default=None, description="When the fact stopped holding (UTC); None while it is still true."
    )

    @field_validator("valid_from", "valid_to")
    @classmethod
    def _aware_validity(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class EpisodicMemory(MemoryBase):
    """Something that happened: the situation, what was done and why, and how it went."""

    kind: Literal["episodic"] = Field(default="episodic", description="Always 'episodic'.")
    situation: str = Field(min_length=1, description="What was going on: the context or what was said.")
    action: str = Field(default="", description="What the agent (or person) did in response.")
    why: str = Field(default="", description="Why that action was chosen.")
    outcome: str = Field(default="", description="How it turned out, including any feedback received.")
    occurred_at: datetime | None = Field(
        default=None, description="When it happened (absolute UTC date-time; resolve 'last Friday' first)."
    )
    participants: list[str] = Field(default_factory=list, description="Who took part.")
    source_ids: list[str] = Field(default_factory=list, description="Ids of the messages (or dialogue turns) it came from.")
    facts: list[str] = Field(
        default_factory=list,
        description="Facts extracted from this episode (e.g. by reflection), added to its searchable text so a "
        "question phrased like a fact finds the episode.",
    )

    @field_validator("occurred_at")
    @classmethod
    def _aware_occurred(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

    @computed_field(description="Searchable text built from the episode's fields, then its facts.")  # type: ignore[prop-decorator]
    @property
    def content(self) -> str:
        parts = []
        if self.occurred_at is not None:
            parts.append(f"[{self.occurred_at.date().isoformat()}]")
        parts.append(self.situation)
        if self.action:
            parts.append(f"Action: {self.action}")
        if self.why:
            parts.append(f"Why: {self.why}")
        if self.outcome:
            parts.append(f"Outcome: {self.outcome}")
        if self.facts:
            parts.append("Facts: " + " ".join(self.facts))
        return " ".join(parts)


class ProceduralMemory(MemoryBase):
    """A rule for how the agent should behave, learnt from the user's feedback."""

    kind: Literal["procedural"] = Field(default="procedural", description="Always 'procedural'.")
    scope: str = Field(default="general", description="Where the rule applies, e.g. 'general', 'code', 'email'.")
    rule: str = Field(min_length=1, description="The instruction, imperative and self-contained, e.g. 'Answer in French'.")
    source: str = Field(default="", description="The user's feedback or correction the rule came from.")

    @computed_field(description="Searchable text of the rule.")  # type: ignore[prop-decorator]
    @property
    def content(self) -> str:
        return f"[{self.scope}] {self.rule}"


_REGISTRY: dict[str, type[MemoryBase]] = {
    "semantic": SemanticMemory,
    "episodic": EpisodicMemory,
    "procedural": ProceduralMemory,
}


def _kind_of(model: type[MemoryBase]) -> str:
    field = model.model_fields.get("kind")
    default = field.default if field is not None else None
    if not isinstance(default, str) or not default:
        raise TypeError(
            f"{model.__name__} needs a default for 'kind', e.g. "
            "`kind: Literal['note'] = Field(default='note', description=...)`."
        )
    return default


def register_memory_kind(model: type[MemoryBase]) -> type[MemoryBase]:
    """Register a custom memory schema so stored values can be read back.

    Usable as a class decorator. The model must subclass :class:`MemoryBase`
    and give ``kind`` a default; it should expose a ``content`` text.

    Args:
        model: The schema class.

    Returns:
        The same class.

    Raises:
        TypeError: Not a ``MemoryBase`` subclass, no ``kind`` default, or the
            kind is already taken by another class (a class with the same module
            and qualified name, e.g. a re-run notebook cell, replaces it).
    """
    if not (isinstance(model, type) and issubclass(model, MemoryBase)):
        raise TypeError(f"register_memory_kind expects a MemoryBase subclass, got {model!r}.")
    kind = _kind_of(model)
    existing = _REGISTRY.get(kind)
    redefined = existing is not None and (existing.__module__, existing.__qualname__) == (model.__module__, model.__qualname__)
    if existing is not None and existing is not model and not redefined:  # re-running a cell/module may redefine it
        raise TypeError(
            f"Memory kind {kind!r} is already registered to {existing.__name__}; choose another kind name."
        )
    _REGISTRY[kind] = model
    return model


def memory_kinds() -> dict[str, type[MemoryBase]]:
    """A copy of the registry: kind name → schema class."""
    return dict(_REGISTRY)


def memory_text(memory: MemoryBase) -> str:
    """The searchable text of a memory (its ``content``, or its fields as text)."""
    content = getattr(memory, "content", None)
    if isinstance(content, str) and content:
        return content
    skip = set(MemoryBase.model_fields)
    data = memory.model_dump(mode="json", exclude=skip)
    return "; ".join(f"{k}: {v}" for k, v in data.items() if v not in (None, "", [], {}))


def to_value(memory: MemoryBase) -> dict[str, Any]:
    """The dict stored for ``memory`` (JSON types only, with ``kind`` and ``content``)."""
    value = memory.model_dump(mode="json")
    value["kind"] = memory.kind
    value["content"] = memory_text(memory)
    if memory.keys:
        value["index_keys"] = "; ".join(memory.keys)
    return value


def from_value(value: dict[str, Any], *, key: str | None = None) -> MemoryBase:
    """Rebuild a memory from a stored value.

    Args:
        value: A dict written by :func:`to_value`.
        key: The store key; used as ``id`` when the value lacks one.

    Raises:
        ValueError: The value has no known ``kind``; register custom kinds with
            :func:`register_memory_kind`.
    """
    kind = value.get("kind")
    model = _REGISTRY.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ValueError(
            f"Stored value has unknown memory kind {kind!r}; known kinds: {sorted(_REGISTRY)}. "
            "Register custom schemas with register_memory_kind()."
        )
    data = dict(value)
    if key is not None and not data.get("id"):
        data["id"] = key
    if "content" in data and "content" not in model.model_fields:
        data.pop("content")
    return model.model_validate(data)
