"""Procedural memory in use: the user's rules rendered into the system prompt.

Rules come only from the user's own feedback (ReflectionNode drops procedural
changes that are not grounded in a human message). They are still escaped
when rendered, so a rule can never close the block or forge another section.

Example:
    >>> from langgraph.store.memory import InMemoryStore
    >>> from langmem_ext.long_term.schemas import ProceduralMemory
    >>> from langmem_ext.long_term.writer import put_memories
    >>> store = InMemoryStore()
    >>> _ = put_memories(store, ("memories", "u1", "procedural"), [ProceduralMemory(rule="Answer in French", scope="language")])
    >>> print(system_prompt_with_rules("You are helpful.", store=store, config={"configurable": {"user_id": "u1"}}))
    You are helpful.
    <BLANKLINE>
    <user_rules>
    Follow these rules the user gave in earlier conversations:
    1. [language] Answer in French
    </user_rules>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore, SearchOp

from langmem_ext.long_term._io import Batch, Gen, run_async, run_sync
from langmem_ext.long_term.namespaces import DEFAULT_NAMESPACES, resolve_namespace
from langmem_ext.long_term.render import escape_text
from langmem_ext.long_term.schemas import ProceduralMemory, from_value

__all__ = ["RULES_HEADER", "render_rules", "load_rules", "aload_rules", "system_prompt_with_rules"]

RULES_HEADER = "Follow these rules the user gave in earlier conversations:"


def render_rules(rules: Sequence[ProceduralMemory]) -> str:
    """The ``<user_rules>`` block (numbered, escaped), or '' when there are none."""
    active = [r for r in rules if r.status == "active"]
    if not active:
        return ""
    lines = []
    for i, rule in enumerate(active, 1):
        scope = "" if rule.scope == "general" else f"[{escape_text(rule.scope)}] "
        lines.append(f"{i}. {scope}{escape_text(' '.join(rule.rule.split()))}")
    return "<user_rules>\n" + RULES_HEADER + "\n" + "\n".join(lines) + "\n</user_rules>"


def _rules(items: Sequence[Any], limit: int) -> list[ProceduralMemory]:
    rules = []
    for item in items:
        try:
            memory = from_value(item.value, key=item.key)
        except ValueError:
            continue
        if isinstance(memory, ProceduralMemory) and memory.status == "active":
            rules.append(memory)
    rules.sort(key=lambda r: (-r.importance, -r.updated_at.timestamp()))
    return rules[:limit]


def _load_rules(config: RunnableConfig | None, namespace: Sequence[str], limit: int) -> Gen[list[ProceduralMemory]]:
    (items,) = yield Batch([SearchOp(resolve_namespace(namespace, config), limit=max(limit * 3, 50))])
    return _rules(items, limit)


def load_rules(
    store: BaseStore, config: RunnableConfig | None, *, namespace: Sequence[str] = DEFAULT_NAMESPACES["procedural"], limit: int = 20
) -> list[ProceduralMemory]:
    """The user's active rules, most important (then most recent) first."""
    return run_sync(store, _load_rules(config, namespace, limit))


async def aload_rules(
    store: BaseStore, config: RunnableConfig | None, *, namespace: Sequence[str] = DEFAULT_NAMESPACES["procedural"], limit: int = 20
) -> list[ProceduralMemory]:
    """Async :func:`load_rules`."""
    return await run_async(store, _load_rules(config, namespace, limit))


def system_prompt_with_rules(
    base: str, *, store: BaseStore, config: RunnableConfig | None,
    namespace: Sequence[str] = DEFAULT_NAMESPACES["procedural"], limit: int = 20,
) -> str:
    """``base`` followed by the user's rules block (``base`` alone when there are none)."""
    block = render_rules(load_rules(store, config, namespace=namespace, limit=limit))
    return f"{base}\n\n{block}" if block else base
