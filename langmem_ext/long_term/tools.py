"""LangChain tools that let an agent manage and search its long-term memory.

Both tools fill their namespace template from the run config (or LangGraph's runtime
``context``) at call time
(``("memories", "{user_id}", "semantic")`` by default) and take the store from
the graph runtime (``langgraph.config.get_store()``) unless one is given.

* ``manage_memory`` creates, updates or deletes a memory through the same
  lossless writer as reflection (change history, CAS / lock). On create it
  looks for a near-duplicate first (vector score ≥ ``duplicate_threshold``,
  or the same words) and does not store it twice.
* ``search_memory`` returns matching memories as quoted data lines.

Example:
    >>> from langgraph.store.memory import InMemoryStore
    >>> store = InMemoryStore()
    >>> manage = create_manage_memory_tool(store=store)
    >>> config = {"configurable": {"user_id": "u1"}}
    >>> manage.invoke({"action": "create", "memory": {"content": "User likes green tea"}}, config).split(" ")[0]
    'Created'
    >>> manage.invoke({"action": "create", "memory": {"content": "user likes green tea."}}, config).split(":")[0]
    'Not stored, already known as memory id=...'
    >>> search = create_search_memory_tool(store=store)
    >>> print(search.invoke({"query": "tea"}, config))
    - id=... [semantic] "User likes green tea"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool
from langgraph.store.base import BaseStore, GetOp, SearchOp
from pydantic import BaseModel, Field, create_model

from langmem_ext.contract import run_config
from langmem_ext.long_term._io import Batch, Gen, run_async, run_sync
from langmem_ext.long_term.namespaces import DEFAULT_NAMESPACES, resolve_namespace
from langmem_ext.long_term.operations import Changes, content_schema, plan_changes
from langmem_ext.long_term.render import memory_line
from langmem_ext.long_term.schemas import MemoryBase, from_value, memory_kinds, memory_text
from langmem_ext.long_term.writer import changes_gen

__all__ = ["create_manage_memory_tool", "create_search_memory_tool", "is_near_duplicate"]

_WORDS = re.compile(r"[a-z0-9']+")


def _words(text: str) -> set[str]:
    return set(_WORDS.findall(text.lower()))


def is_near_duplicate(text: str, other: str, *, score: float | None, threshold: float) -> bool:
    """Same words (Jaccard ≥ 0.8) or a vector score at or above ``threshold``."""
    a, b = _words(text), _words(other)
    if a and b and len(a & b) / len(a | b) >= 0.8:
        return True
    return score is not None and score >= threshold


def _store(store: BaseStore | None) -> BaseStore:
    if store is not None:
        return store
    try:
        from langgraph.config import get_store

        found = get_store()
    except RuntimeError:
        found = None
    if found is None:
        raise ValueError("Memory tools need a store: run them inside a graph compiled with store=..., or pass store=.")
    return found


def _manage_schema(kind: str, actions: Sequence[str]) -> type[BaseModel]:
    return create_model(
        "ManageMemory",
        __doc__="Create, update or delete one long-term memory.",
        action=(Literal[tuple(actions)], Field(description="What to do: " + ", ".join(actions) + ".")),  # type: ignore[valid-type]
        memory=(content_schema(kind) | None, Field(default=None, description="The memory's content (create and update).")),
        id=(str | None, Field(default=None, description="Id of an existing memory (update and delete), as shown by search.")),
    )


def create_manage_memory_tool(
    namespace: Sequence[str] | None = None,
    *,
    kind: str = "semantic",
    store: BaseStore | None = None,
    actions: Sequence[Literal["create", "update", "delete"]] = ("create", "update", "delete"),
    duplicate_threshold: float = 0.92,
    allow_procedural: bool = False,
    name: str = "manage_memory",
    description: str | None = None,
) -> StructuredTool:
    """A tool that creates, updates or deletes memories of one kind.

    Args:
        namespace: Template (default ``("memories", "{user_id}", kind)``).
        kind: Memory kind the tool writes.
        store: Store to use instead of the graph's.
        actions: Permitted actions.
        duplicate_threshold: Vector score at which a new memory counts as a duplicate.
        allow_procedural: Procedural rules are changed by reflection from the user's own
            words; letting the agent write them is opt-in.
        name: Tool name.
        description: Tool description (a sensible default otherwise).
    """
    if kind not in memory_kinds():
        raise ValueError(f"Unknown memory kind {kind!r}; known: {sorted(memory_kinds())}.")
    if kind == "procedural" and not allow_procedural:
        raise ValueError("Agents writing procedural rules is opt-in: pass allow_procedural=True if you mean it.")
    bad = [a for a in actions if a not in ("create", "update", "delete")]
    if not actions or bad:
        raise ValueError(f"actions must be a non-empty subset of ('create', 'update', 'delete'), got {tuple(actions)!r}.")
    template = tuple(namespace or DEFAULT_NAMESPACES.get(kind, ("memories", "{user_id}", kind)))
    schema = _manage_schema(kind, actions)

    def prepare(action: str, memory: Any, id: str | None) -> tuple[str | None, SearchOp | None]:
        if action == "create":
            if memory is None:
                return "Error: 'create' needs memory={...}.", None
            return None, None
        if not id:
            return f"Error: '{action}' needs the id of an existing memory (use search first).", None
        if action == "update" and memory is None:
            return "Error: 'update' needs memory={...} with the new content.", None
        return None, None

    def plan(action: str, memory: Any, id: str | None, ns: tuple[str, ...], existing: Any, dup_items: Sequence[Any]) -> tuple[str | None, Changes]:
        data = memory.model_dump() if isinstance(memory, BaseModel) else dict(memory or {})
        if action == "create":
            candidate = plan_changes([{"action": "insert", "kind": kind, "memory": data, "reason": "agent tool"}],
                                     known={}, namespaces={kind: ns})
            if not candidate.inserts:
                return "Error: invalid memory content.", Changes()
            text = memory_text(candidate.inserts[0][1])
            for item in dup_items:
                try:
                    other = from_value(item.value, key=item.key)
                except ValueError:
                    continue
                if other.status == "active" and is_near_duplicate(text, memory_text(other), score=getattr(item, "score", None),
                                                                  threshold=duplicate_threshold):
                    return f"Not stored, already known as memory id={other.id}: {memory_text(other)}", Changes()
            return None, candidate
        if existing is None:
            return f"Error: no memory with id {id!r} in this user's {kind} memories.", Changes()
        current: MemoryBase = from_value(existing.value, key=existing.key)
        op = {"action": action, "id": id, "kind": kind, "memory": data, "reason": "agent tool"}
        return None, plan_changes([op], known={id: (ns, current)}, namespaces={kind: ns})  # type: ignore[dict-item]

    def report(action: str, applied: Any, changes: Changes, id: str | None) -> str:
        if action == "create":
            m = changes.inserts[0][1]
            return f"Created memory id={m.id}: {memory_text(m)}"
        if action == "delete":
            return f"Deleted memory id={id}."
        return f"Updated memory id={id}." if applied.updated else f"Memory id={id} already says that; nothing changed."

    def manage(action: str, memory: Any, id: str | None, store: BaseStore, config: RunnableConfig) -> Gen[str]:
        error, _ = prepare(action, memory, id)
        if error:
            return error
        ns = resolve_namespace(template, run_config(config))
        creating = action == "create"
        found = yield Batch(([GetOp(ns, id)] if id else []) + ([SearchOp(ns, query=_query(memory), limit=3)] if creating else []))
        error, changes = plan(action, memory, id, ns, found[0] if id else None, found[-1] if creating else [])
        if error:
            return error
        return report(action, (yield from changes_gen(store, changes)), changes, id)

    def run(action: str, memory: Any = None, id: str | None = None, *, config: RunnableConfig) -> str:
        s = _store(store)
        return run_sync(s, manage(action, memory, id, s, config))

    async def arun(action: str, memory: Any = None, id: str | None = None, *, config: RunnableConfig) -> str:
        s = _store(store)
        return await run_async(s, manage(action, memory, id, s, config))

    return StructuredTool.from_function(
        func=run, coroutine=arun, name=name, args_schema=schema,
        description=description or (
            f"Save, correct or remove a {kind} memory about the user so it is available in future conversations. "
            "Create for new information, update (by id) when it changed, delete (by id) when it is wrong or the user asks."
        ),
    )


def _query(memory: Any) -> str:
    data = memory.model_dump() if isinstance(memory, BaseModel) else dict(memory or {})
    return " ".join(str(v) for v in data.values() if isinstance(v, str))[:500]


def create_search_memory_tool(
    namespace: Sequence[str] = ("memories", "{user_id}"),
    *,
    store: BaseStore | None = None,
    limit: int = 5,
    include_archived: bool = False,
    name: str = "search_memory",
    description: str | None = None,
) -> StructuredTool:
    """A tool that searches the user's memories (all kinds under ``namespace`` by default).

    Results are quoted data lines with ids (for ``manage_memory``), never instructions.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}.")
    template = tuple(namespace)

    default_limit = limit
    search_schema = create_model(
        "SearchMemory",
        __doc__="Search long-term memory.",
        query=(str, Field(description="What to look for, in natural language.")),
        limit=(int, Field(default=default_limit, ge=1, le=50, description="Most results to return.")),
    )

    def render(items: Sequence[Any]) -> str:
        lines = []
        for item in items:
            try:
                memory = from_value(item.value, key=item.key)
            except ValueError:
                continue
            if memory.status == "archived" and not include_archived:
                continue
            lines.append(memory_line(memory))
        return "\n".join(lines) or "No matching memories."

    def search(query: str, limit: int, config: RunnableConfig) -> Gen[str]:
        (items,) = yield Batch([SearchOp(resolve_namespace(template, run_config(config)), query=query, limit=limit)])
        return render(items)

    def run(query: str, limit: int = limit, *, config: RunnableConfig) -> str:
        return run_sync(_store(store), search(query, limit, config))

    async def arun(query: str, limit: int = limit, *, config: RunnableConfig) -> str:
        return await run_async(_store(store), search(query, limit, config))

    return StructuredTool.from_function(
        func=run, coroutine=arun, name=name, args_schema=search_schema,
        description=description or "Search what you remember about the user from earlier conversations.",
    )
