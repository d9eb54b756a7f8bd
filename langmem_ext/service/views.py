"""What the service returns: pydantic models, JSON-ready (``model_dump(mode="json")``).

They double as the output schemas of the MCP tools and the data of the web UI's
templates, so every field carries a description.

Example:
    >>> from langmem_ext.long_term.schemas import SemanticMemory
    >>> from datetime import datetime, timezone
    >>> now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    >>> view = MemoryView.of(SemanticMemory(content="Likes jazz", created_at=now, updated_at=now), user_id="u1", now=now)
    >>> view.kind, view.content, view.current_strength, view.fields["subject"]
    ('semantic', 'Likes jazz', 1.0, 'user')
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from langmem_ext.long_term.forgetting import current_strength, last_access
from langmem_ext.long_term.schemas import ChangeRecord, MemoryBase, memory_text

__all__ = [
    "MemoryView",
    "Score",
    "SearchHit",
    "MemoryPage",
    "WriteResult",
    "RecallContext",
    "ReflectOutcome",
    "UserSummary",
    "ForgetCandidate",
    "UserStats",
    "ForgetResult",
    "ExportResult",
    "FilledIn",
    "ImportReport",
]

_COMMON = set(MemoryBase.model_fields) | {"content"}


class MemoryView(BaseModel):
    """One memory as the faces show it: what it says, how it is doing, and (on ``show``) its history."""

    id: str = Field(description="The memory's id (its store key); what show/update/delete/pin take.")
    user_id: str = Field(description="Whose memory this is.")
    kind: str = Field(description="semantic (a fact), episodic (an event) or procedural (a rule), or a custom kind.")
    content: str = Field(description="The memory's searchable text.")
    status: str = Field(description="'active', or 'archived' (kept but no longer recalled).")
    pinned: bool = Field(description="Pinned memories are never forgotten.")
    importance: int = Field(description="1 (trivia) to 10 (critical).")
    strength: float = Field(description="Retention strength stored at the last access or write, 0..1.")
    current_strength: float = Field(description="Strength decayed to now by the forgetting curve, 0..1.")
    access_count: int = Field(description="How many times recall returned it.")
    last_accessed_at: datetime | None = Field(default=None, description="When recall last returned it (UTC).")
    created_at: datetime = Field(description="When it was first written (UTC).")
    updated_at: datetime = Field(description="When it last changed (UTC).")
    version: int = Field(description="Revision number; every update adds one.")
    valid_from: datetime | None = Field(default=None, description="Facts: since when it holds, if known.")
    valid_to: datetime | None = Field(default=None, description="Facts: when it stopped holding (a closed fact).")
    fields: dict[str, Any] = Field(default_factory=dict, description="The fields of its kind (subject, situation, rule, source_ids ...).")
    history: list[ChangeRecord] | None = Field(
        default=None, description="Change history, oldest first (only when asked for: show)."
    )

    @classmethod
    def of(cls, memory: MemoryBase, *, user_id: str, now: datetime, half_life: timedelta = timedelta(days=30),
           with_history: bool = False) -> MemoryView:
        """The view of ``memory`` (with its access statistics already overlaid)."""
        own = memory.model_dump(mode="json", exclude=_COMMON)
        return cls(
            id=memory.id, user_id=user_id, kind=memory.kind, content=memory_text(memory), status=memory.status,
            pinned=memory.pinned, importance=memory.importance, strength=memory.strength,
            current_strength=current_strength(memory.strength, last_access(memory), now, half_life=half_life),
            access_count=memory.access_count, last_accessed_at=memory.last_accessed_at,
            created_at=memory.created_at, updated_at=memory.updated_at, version=memory.version,
            valid_from=getattr(memory, "valid_from", None), valid_to=getattr(memory, "valid_to", None),
            fields={k: v for k, v in own.items() if k not in ("valid_from", "valid_to")},
            history=list(memory.history) if with_history else None,
        )


class Score(BaseModel):
    """Why a search result ranks where it does (the ranking RecallNode uses)."""

    total: float = Field(description="The combined score, 0..1 (halved for a fact that is no longer true).")
    relevance: float = Field(description="Relevance to the query, min-max normalised over the candidates, 0..1.")
    recency: float = Field(description="How recently it changed, 0..1 (halves every recency half-life).")
    importance: float = Field(description="(importance - 1) / 9.")
    strength: float = Field(description="Current forgetting-curve strength, 0..1.")
    closed: bool = Field(description="A fact that is no longer true (valid_to set).")
    raw_relevance: float | None = Field(default=None, description="The retrieval score before normalisation.")
    weights: dict[str, float] = Field(description="Weights of relevance, recency, importance and strength.")


class SearchHit(BaseModel):
    """One search result."""

    memory: MemoryView
    score: Score


class MemoryPage(BaseModel):
    """A page of memories and the cursor of the next page (None on the last page)."""

    memories: list[MemoryView]
    next_cursor: str | None = Field(default=None, description="Pass as cursor= for the next page; None: no more.")


class WriteResult(BaseModel):
    """What a write did."""

    memory: MemoryView = Field(description="The memory as stored now (for a duplicate: the one already stored).")
    changed: bool = Field(description="False when nothing was written (a duplicate, or no change).")
    note: str = Field(default="", description="Why nothing was written, when it was not.")


class RecallContext(BaseModel):
    """The block RecallNode puts in front of the model, and what it holds."""

    text: str = Field(description="The <memories> block followed by the <user_rules> block ('' when nothing is known).")
    memories: list[MemoryView] = Field(description="The memories in the block, in block order.")
    rules: list[MemoryView] = Field(description="The user's rules in the block.")
    queries: list[str] = Field(description="The search queries drawn from the messages.")


class ReflectOutcome(BaseModel):
    """What one reflection over a transcript wrote."""

    inserted: list[MemoryView] = Field(default_factory=list)
    updated: list[MemoryView] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list, description="Ids of deleted memories.")
    messages: int = Field(default=0, description="New messages reflected on (already-seen ones are skipped).")
    offline: bool = Field(default=False, description="True: no model configured, the heuristic extractor ran.")
    skipped: str | None = Field(default=None, description="Why nothing was done, if nothing was.")


class UserSummary(BaseModel):
    """One user on the users page."""

    user_id: str
    counts: dict[str, int] = Field(description="Memories per kind.")
    total: int = Field(description="Memories of every kind.")
    internal: int = Field(description="Bookkeeping records (reflection cursors, access statistics, dead letters).")
    last_activity: datetime | None = Field(description="The last write of any of the user's records (UTC).")


class ForgetCandidate(BaseModel):
    """A memory forgetting would archive soon."""

    memory: MemoryView
    drops_at: datetime = Field(description="When its strength falls under the threshold if it is not recalled.")


class UserStats(BaseModel):
    """Importance, strength and access statistics of one user's memories."""

    user_id: str
    total: int
    active: int
    archived: int
    pinned: int
    closed: int = Field(description="Facts that are no longer true.")
    by_kind: dict[str, int]
    importance: dict[int, int] = Field(description="Memories per importance 1..10.")
    strength: dict[str, float] = Field(description="min / mean / max current strength of the active memories.")
    strength_buckets: dict[str, int] = Field(description="Active memories per current-strength decile ('0.0-0.1' ...).")
    recalls: int = Field(description="Recalls over all memories (sum of access counts).")
    never_recalled: int
    most_recalled: list[MemoryView]
    threshold: float = Field(description="Strength under which forgetting archives a memory.")
    half_life_days: float
    forgettable_now: int = Field(description="Active, unpinned memories already under the threshold.")
    forget_next: list[ForgetCandidate] = Field(description="The next memories forgetting would archive, soonest first.")


class ForgetResult(BaseModel):
    """What erasing a user did, verified independently of the index."""

    user_id: str
    deleted: int = Field(description="Records deleted (memories and bookkeeping).")
    remaining: int = Field(description="Records found under the user's namespace afterwards (0 when erased).")
    verified_by: str = Field(description="'SCAN' (Redis keyspace walk) or 'search' (stores without SCAN).")


class ExportResult(BaseModel):
    """Export records (JSON Lines when written with :meth:`lines`)."""

    records: list[dict[str, Any]]
    memories: int = Field(description="Records that are memories.")
    internal: int = Field(description="Bookkeeping records (reflection cursors, access statistics).")

    def lines(self) -> list[str]:
        """One JSON object per line, newline-terminated."""
        import json

        return [json.dumps(r, ensure_ascii=False) + "\n" for r in self.records]


class FilledIn(BaseModel):
    """Fields an import filled in for a memory that lacked them."""

    line: int
    key: str
    fields: list[str]


class ImportReport(BaseModel):
    """What an import wrote (all of it, or nothing)."""

    memories: int
    internal: int
    users: list[str]
    filled: list[FilledIn] = Field(description="Memories completed from their namespace and the schema defaults.")
