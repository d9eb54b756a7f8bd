"""One service layer for memory operations, shared by the CLI, the MCP server and the web UI.

Faces never build namespaces or store queries: they name a **user**, a **kind** and a
memory **id**, and call :class:`MemoryService` (sync) or :class:`AsyncMemoryService`
(asyncio; same methods, awaited). The service enforces, once for every face:

* **the user namespace**: a user's memories are under ``("memories", user_id, kind)``
  (``root`` configurable), exactly where ``ReflectionNode`` writes and ``RecallNode``
  reads. An id is looked up only in the caller's own namespaces (exact keys, never a
  query), so no id, crafted or not, reaches another user's memories;
* **schemas**: writes are validated against the kind's pydantic schema (unknown fields
  are refused, with the settable ones listed);
* **limits**: :class:`~langmem_ext.limits.Limits` (``memory_bytes``, ``query_bytes``,
  ``message_bytes``) and page sizes, checked before anything is written;
* **curation**: a new memory that near-duplicates an open one is not stored twice; updates
  go through the lossless writer (history, compare-and-set), so nothing is half-written.

Operations:

============================  =================================================================
``list_memories``             a page of memories (``kind=``, ``limit=``, opaque ``cursor=``)
``search``                    ranked as RecallNode ranks, each score split into relevance,
                              recency, importance and strength (:class:`Score`)
``recall_context``            the exact block RecallNode builds (memories + the user's rules)
``show``                      one memory with its change history
``add`` / ``update`` / ``pin``  writes (``update`` keeps history); :class:`WriteResult`
``delete``                    one memory and its access statistics
``forget_user``               everything of a user, then verified by a keyspace SCAN
``export`` / ``import_lines`` JSON Lines; an import is validated whole, first bad line named
``list_users``                users with counts per kind and last activity
``stats``                     importance / strength / access, what forgetting drops next
``rules`` / ``rules_prompt``  the user's procedural rules (and as a system prompt)
``recent_facts``              current facts, newest first
``reflect``                   ReflectionNode on a transcript from outside LangGraph
============================  =================================================================

Errors are :class:`ServiceError` subclasses whose message names the cause and the fix
(``InvalidRequestError``, ``MemoryNotFoundError``, ``LimitError``, ``ConflictError``,
``StoreUnavailableError``); results are pydantic models (:mod:`langmem_ext.service.views`).

Example:
    >>> from langgraph.store.memory import InMemoryStore
    >>> from langmem_ext.long_term.testing import HASH_DIMS, hash_embed
    >>> service = MemoryService(InMemoryStore(index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]}))
    >>> added = service.add("maya", kind="semantic", content="Maya lives in Porto")
    >>> service.add("maya", kind="semantic", content="maya lives in porto.").note.startswith("Already known")
    True
    >>> hit = service.search("maya", "where does Maya live")[0]
    >>> hit.memory.content, sorted(hit.score.weights)
    ('Maya lives in Porto', ['importance', 'recency', 'relevance', 'strength'])
    >>> edited = service.update("maya", added.memory.id, content="Maya lives in Lisbon", reason="moved")
    >>> [h.op for h in service.show("maya", added.memory.id).history]
    ['insert', 'update']
    >>> print(service.recall_context("maya", query="Where does Maya live?").text)
    <memories>
    ...
    - [semantic] "Maya lives in Lisbon"
    </memories>
    >>> service.show("omar", added.memory.id)
    Traceback (most recent call last):
    ...
    langmem_ext.service.errors.MemoryNotFoundError: No memory '...' for user 'omar'; ...
    >>> service.forget_user("maya").remaining
    0
"""

from __future__ import annotations

from langmem_ext.service.core import AsyncMemoryService, MemoryService
from langmem_ext.service.errors import (
    ConflictError,
    InvalidRequestError,
    LimitError,
    MemoryNotFoundError,
    ServiceError,
    StoreUnavailableError,
)
from langmem_ext.service.views import (
    ExportResult,
    FilledIn,
    ForgetCandidate,
    ForgetResult,
    ImportReport,
    MemoryPage,
    MemoryView,
    RecallContext,
    ReflectOutcome,
    Score,
    SearchHit,
    UserStats,
    UserSummary,
    WriteResult,
)

__all__ = [
    "AsyncMemoryService",
    "ConflictError",
    "ExportResult",
    "FilledIn",
    "ForgetCandidate",
    "ForgetResult",
    "ImportReport",
    "InvalidRequestError",
    "LimitError",
    "MemoryNotFoundError",
    "MemoryPage",
    "MemoryService",
    "MemoryView",
    "RecallContext",
    "ReflectOutcome",
    "Score",
    "SearchHit",
    "ServiceError",
    "StoreUnavailableError",
    "UserStats",
    "UserSummary",
    "WriteResult",
]
