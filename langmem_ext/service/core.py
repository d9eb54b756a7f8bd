"""``MemoryService`` and ``AsyncMemoryService``: the two thin drivers of the shared operations.

Each method validates, then runs one operation of :class:`~langmem_ext.service._ops.ServiceCore`
through :func:`~langmem_ext.service._drive.run_sync` or ``run_async``; that is the only
difference between the two classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.store.base import BaseStore

from langmem_ext.limits import Limits
from langmem_ext.long_term.recall import RecallNode
from langmem_ext.long_term.schemas import ProceduralMemory
from langmem_ext.service._drive import run_async, run_sync
from langmem_ext.service._ops import ServiceCore
from langmem_ext.service.views import (
    ExportResult,
    ForgetResult,
    ImportReport,
    MemoryPage,
    MemoryView,
    RecallContext,
    ReflectOutcome,
    SearchHit,
    UserStats,
    UserSummary,
    WriteResult,
)

__all__ = ["MemoryService", "AsyncMemoryService"]


class _Options(ServiceCore):
    def __init__(
        self,
        store: BaseStore,
        *,
        root: Sequence[str] = ("memories",),
        limits: Limits | None = None,
        recall_node: RecallNode | None = None,
        reflection_model: Any = None,
        forget_threshold: float = 0.05,
    ) -> None:
        if not isinstance(store, BaseStore):
            raise TypeError(f"store must be a LangGraph BaseStore (e.g. langmem_ext.store.RedisStore), got {store!r}.")
        super().__init__(root=root, limits=limits, recall_node=recall_node, reflection_model=reflection_model,
                         forget_threshold=forget_threshold)
        self.store = store


class MemoryService(_Options):
    """Memory operations for the CLI, the MCP server and the web UI, on any LangGraph store.

    Args:
        store: The store the graphs write to (``RedisStore`` with the MiniLM index in the
            product; any ``BaseStore`` works, e.g. ``InMemoryStore`` in tests).
        root: First labels of every namespace: a user's memories are under
            ``root + (user_id, kind)``, as the nodes write them by default.
        limits: Size limits (``memory_bytes``, ``query_bytes``, ``message_bytes``); the defaults when None.
        recall_node: The RecallNode whose block ``recall_context`` returns and whose ranking
            ``search`` uses (default: the nodes' defaults under ``root``, rules never cached).
        reflection_model: Chat model ``reflect`` uses; None runs the offline extractor.
        forget_threshold: Strength under which forgetting archives (for ``stats``).
    """

    def list_memories(self, user_id: str, *, kind: str | None = None, limit: int = 20,
                      cursor: str | None = None, closed: bool | None = None,
                      with_history: bool = False) -> MemoryPage:
        """A page of the user's memories (every kind, or one), newest write first, and the next cursor.

        ``closed=True`` lists only facts that are no longer true (``valid_to`` set),
        ``closed=False`` only the others; ``with_history`` adds each memory's change history.
        """
        return run_sync(self.store, self.list_memories_op(user_id, kind=kind, limit=limit, cursor=cursor,
                                                          closed=closed, with_history=with_history))

    def show(self, user_id: str, memory_id: str) -> MemoryView:
        """One memory with its change history and access statistics."""
        return run_sync(self.store, self.show_op(user_id, memory_id))

    def search(self, user_id: str, query: str, *, kinds: Sequence[str] | None = None, limit: int = 10,
               include_archived: bool = False) -> list[SearchHit]:
        """The user's memories ranked for ``query`` as RecallNode ranks them, each score split into its parts."""
        return run_sync(self.store, self.search_op(user_id, query, kinds=kinds, limit=limit, include_archived=include_archived))

    def recall_context(self, user_id: str, *, query: str | None = None, messages: Sequence[Any] | None = None,
                       max_tokens: int | None = None) -> RecallContext:
        """The block RecallNode would put in front of the model for ``query`` or ``messages`` (rules included)."""
        return run_sync(self.store, self.recall_context_op(user_id, query=query, messages=messages, max_tokens=max_tokens))

    def rules(self, user_id: str, *, limit: int = 50) -> list[ProceduralMemory]:
        """The user's active procedural rules, most important first."""
        return run_sync(self.store, self.rules_op(user_id, limit=limit))

    def rules_prompt(self, user_id: str, *, base: str = "") -> str:
        """``base`` followed by the user's rules as a ``<user_rules>`` block."""
        return run_sync(self.store, self.rules_prompt_op(user_id, base=base))

    def recent_facts(self, user_id: str, *, limit: int = 20) -> list[MemoryView]:
        """The user's current facts, most recently changed first."""
        return run_sync(self.store, self.recent_facts_op(user_id, limit=limit))

    def list_users(self, *, limit: int = 1000, offset: int = 0) -> list[UserSummary]:
        """Every user with memory counts per kind and the last activity, most recent first."""
        return run_sync(self.store, self.list_users_op(limit=limit, offset=offset))

    def user_summary(self, user_id: str) -> UserSummary:
        """One user's memories per kind and last activity (zeros for an unknown user)."""
        return run_sync(self.store, self.user_summary_op(user_id))

    def stats(self, user_id: str, *, top: int = 10) -> UserStats:
        """Importance, strength and access statistics, and what forgetting would archive next."""
        return run_sync(self.store, self.stats_op(user_id, top=top))

    def export(self, user_id: str | None = None, *, memories_only: bool = False) -> ExportResult:
        """Records of one user (or every user under ``root``) for JSON Lines."""
        return run_sync(self.store, self.export_op(user_id, memories_only=memories_only))

    def add(self, user_id: str, *, kind: str, content: str | None = None, fields: Mapping[str, Any] | None = None,
            importance: int | None = None, reason: str = "added by hand") -> WriteResult:
        """Store a new memory (``content`` is the fact, the situation or the rule); a near-duplicate is not stored twice."""
        return run_sync(self.store, self.add_op(user_id, kind=kind, content=content, fields=fields,
                                                importance=importance, reason=reason))

    def update(self, user_id: str, memory_id: str, *, content: str | None = None,
               fields: Mapping[str, Any] | None = None, importance: int | None = None,
               reason: str = "edited by hand") -> WriteResult:
        """Change a memory; the old text goes into its history and its version goes up."""
        return run_sync(self.store, self.update_op(user_id, memory_id, content=content, fields=fields,
                                                   importance=importance, reason=reason))

    def pin(self, user_id: str, memory_id: str, *, pinned: bool = True) -> WriteResult:
        """Pin (never forgotten) or unpin a memory."""
        return run_sync(self.store, self.pin_op(user_id, memory_id, pinned=pinned))

    def delete(self, user_id: str, memory_id: str) -> MemoryView:
        """Delete a memory and its access statistics; returns what was deleted."""
        return run_sync(self.store, self.delete_op(user_id, memory_id))

    def forget_user(self, user_id: str) -> ForgetResult:
        """Erase every record of the user, then check with a keyspace SCAN that none is left."""
        return run_sync(self.store, self.forget_user_op(user_id))

    def import_lines(self, lines: Sequence[str], *, source: str = "input", user_id: str | None = None) -> ImportReport:
        """Import JSON Lines written by :meth:`export`: all of them, or nothing (the first bad line named)."""
        return run_sync(self.store, self.import_op(lines, source=source, user_id=user_id))

    def reflect(self, user_id: str, messages: Sequence[Any], *, thread_id: str | None = None) -> ReflectOutcome:
        """Run ReflectionNode on a transcript (``{"role", "content"}`` dicts); already-seen messages are skipped."""
        return run_sync(self.store, self.reflect_op(user_id, messages, thread_id=thread_id))

    def flush(self) -> None:
        """Write pending recall statistics now (call before the process exits)."""
        self.recall_node.flush()


class AsyncMemoryService(_Options):
    """The asyncio twin of :class:`MemoryService` (same arguments, same results)."""

    async def list_memories(self, user_id: str, *, kind: str | None = None, limit: int = 20,
                            cursor: str | None = None, closed: bool | None = None,
                            with_history: bool = False) -> MemoryPage:
        """Async :meth:`MemoryService.list_memories`."""
        return await run_async(self.store, self.list_memories_op(user_id, kind=kind, limit=limit, cursor=cursor,
                                                                 closed=closed, with_history=with_history))

    async def show(self, user_id: str, memory_id: str) -> MemoryView:
        """Async :meth:`MemoryService.show`."""
        return await run_async(self.store, self.show_op(user_id, memory_id))

    async def search(self, user_id: str, query: str, *, kinds: Sequence[str] | None = None, limit: int = 10,
                     include_archived: bool = False) -> list[SearchHit]:
        """Async :meth:`MemoryService.search`."""
        return await run_async(self.store, self.search_op(user_id, query, kinds=kinds, limit=limit,
                                                          include_archived=include_archived))

    async def recall_context(self, user_id: str, *, query: str | None = None, messages: Sequence[Any] | None = None,
                             max_tokens: int | None = None) -> RecallContext:
        """Async :meth:`MemoryService.recall_context`."""
        return await run_async(self.store, self.recall_context_op(user_id, query=query, messages=messages,
                                                                  max_tokens=max_tokens))

    async def rules(self, user_id: str, *, limit: int = 50) -> list[ProceduralMemory]:
        """Async :meth:`MemoryService.rules`."""
        return await run_async(self.store, self.rules_op(user_id, limit=limit))

    async def rules_prompt(self, user_id: str, *, base: str = "") -> str:
        """Async :meth:`MemoryService.rules_prompt`."""
        return await run_async(self.store, self.rules_prompt_op(user_id, base=base))

    async def recent_facts(self, user_id: str, *, limit: int = 20) -> list[MemoryView]:
        """Async :meth:`MemoryService.recent_facts`."""
        return await run_async(self.store, self.recent_facts_op(user_id, limit=limit))

    async def list_users(self, *, limit: int = 1000, offset: int = 0) -> list[UserSummary]:
        """Async :meth:`MemoryService.list_users`."""
        return await run_async(self.store, self.list_users_op(limit=limit, offset=offset))

    async def user_summary(self, user_id: str) -> UserSummary:
        """Async :meth:`MemoryService.user_summary`."""
        return await run_async(self.store, self.user_summary_op(user_id))

    async def stats(self, user_id: str, *, top: int = 10) -> UserStats:
        """Async :meth:`MemoryService.stats`."""
        return await run_async(self.store, self.stats_op(user_id, top=top))

    async def export(self, user_id: str | None = None, *, memories_only: bool = False) -> ExportResult:
        """Async :meth:`MemoryService.export`."""
        return await run_async(self.store, self.export_op(user_id, memories_only=memories_only))

    async def add(self, user_id: str, *, kind: str, content: str | None = None, fields: Mapping[str, Any] | None = None,
                  importance: int | None = None, reason: str = "added by hand") -> WriteResult:
        """Async :meth:`MemoryService.add`."""
        return await run_async(self.store, self.add_op(user_id, kind=kind, content=content, fields=fields,
                                                       importance=importance, reason=reason))

    async def update(self, user_id: str, memory_id: str, *, content: str | None = None,
                     fields: Mapping[str, Any] | None = None, importance: int | None = None,
                     reason: str = "edited by hand") -> WriteResult:
        """Async :meth:`MemoryService.update`."""
        return await run_async(self.store, self.update_op(user_id, memory_id, content=content, fields=fields,
                                                          importance=importance, reason=reason))

    async def pin(self, user_id: str, memory_id: str, *, pinned: bool = True) -> WriteResult:
        """Async :meth:`MemoryService.pin`."""
        return await run_async(self.store, self.pin_op(user_id, memory_id, pinned=pinned))

    async def delete(self, user_id: str, memory_id: str) -> MemoryView:
        """Async :meth:`MemoryService.delete`."""
        return await run_async(self.store, self.delete_op(user_id, memory_id))

    async def forget_user(self, user_id: str) -> ForgetResult:
        """Async :meth:`MemoryService.forget_user`."""
        return await run_async(self.store, self.forget_user_op(user_id))

    async def import_lines(self, lines: Sequence[str], *, source: str = "input",
                           user_id: str | None = None) -> ImportReport:
        """Async :meth:`MemoryService.import_lines`."""
        return await run_async(self.store, self.import_op(lines, source=source, user_id=user_id))

    async def reflect(self, user_id: str, messages: Sequence[Any], *, thread_id: str | None = None) -> ReflectOutcome:
        """Async :meth:`MemoryService.reflect`."""
        return await run_async(self.store, self.reflect_op(user_id, messages, thread_id=thread_id))

    async def flush(self) -> None:
        """Async :meth:`MemoryService.flush`."""
        await self.recall_node.aflush()
