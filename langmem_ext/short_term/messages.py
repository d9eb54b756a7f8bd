"""Structure of a chat history: units that must never be split.

A *unit* is the smallest piece of a history that can be kept or dropped on its own:
a system message, a human message, a plain AI message, or an AI message with tool
calls together with all its ToolMessages (parallel calls included). ToolMessages
whose call is not in the history are *orphans*: every function here drops them.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    >>> call = AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "c1"},
    ...                                  {"name": "g", "args": {}, "id": "c2"}])
    >>> history = [HumanMessage("hi"), call, ToolMessage("1", tool_call_id="c1"),
    ...            ToolMessage("2", tool_call_id="c2"), AIMessage("done")]
    >>> [u.kind for u in group_units(history)]
    ['human', 'tool_group', 'ai']
    >>> group_units(history)[1].indices
    (1, 2, 3)
    >>> history_problems(history[1:])
    ['the history starts with a ai message, not a human one']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from langchain_core.messages import BaseMessage, SystemMessage

__all__ = [
    "SUMMARY_MESSAGE_ID",
    "Unit",
    "group_units",
    "history_problems",
    "is_summary_message",
    "split_head",
]

SUMMARY_MESSAGE_ID = "langmem-ext-running-summary"
"""Id of the message that carries the running summary (one per thread)."""

UnitKind = Literal["system", "human", "ai", "tool_group", "orphan_tool", "other"]


@dataclass(slots=True)
class Unit:
    """Indices (into the history) of messages that stay together.

    Attributes:
        kind: what the unit starts with; ``tool_group`` is an AI message with tool calls
            plus its results, ``orphan_tool`` a ToolMessage without its call.
        indices: positions of the unit's messages, ascending.
        complete: False for a tool group some of whose calls have no result yet.
    """

    kind: UnitKind
    indices: tuple[int, ...]
    complete: bool = True

    @property
    def start(self) -> int:
        return self.indices[0]


def is_summary_message(message: BaseMessage) -> bool:
    """True for the message that carries the running summary."""
    return message.id == SUMMARY_MESSAGE_ID


def group_units(messages: Sequence[BaseMessage]) -> list[Unit]:
    """Partition ``messages`` into units (see the module docstring).

    A ToolMessage belongs to the nearest preceding AI message that made its call, as long
    as only ToolMessages lie in between; anything else is an orphan.
    """
    units: list[Unit] = []
    i, n = 0, len(messages)
    while i < n:
        m = messages[i]
        kind = m.type
        if kind == "ai" and m.tool_calls:
            pending = {c["id"] for c in m.tool_calls if c.get("id")}
            members = [i]
            j = i + 1
            while j < n and messages[j].type == "tool" and messages[j].tool_call_id in pending:
                pending.discard(messages[j].tool_call_id)
                members.append(j)
                j += 1
            units.append(Unit("tool_group", tuple(members), complete=not pending))
            i = j
            continue
        if kind not in ("human", "ai", "system"):
            kind = "orphan_tool" if kind == "tool" else "other"
        units.append(Unit(kind, (i,)))  # type: ignore[arg-type]
        i += 1
    return units


def split_head(messages: Sequence[BaseMessage]) -> tuple[list[BaseMessage], list[BaseMessage]]:
    """Split off the leading system messages (the running summary included).

    Returns:
        ``(head, rest)``: the system/summary messages at the start, and everything after.
    """
    k = 0
    while k < len(messages) and (isinstance(messages[k], SystemMessage) or is_summary_message(messages[k])):
        k += 1
    return list(messages[:k]), list(messages[k:])


def history_problems(messages: Sequence[BaseMessage], *, allow_pending: bool = True) -> list[str]:
    """Why OpenAI's or Anthropic's chat API would reject ``messages`` (empty list: valid).

    Checked: after the leading system messages the history starts with a human message;
    no system message later on; no ToolMessage without its call right before it; no tool
    call without its result (except, with ``allow_pending``, in the very last message).
    """
    problems: list[str] = []
    head, rest = split_head(messages)
    units = group_units(rest)
    if units and units[0].kind != "human":
        first = rest[units[0].start]
        problems.append(f"the history starts with a {first.type} message, not a human one")
    for pos, unit in enumerate(units):
        first = rest[unit.start]
        if unit.kind == "orphan_tool":
            problems.append(f"ToolMessage {first.id or unit.start} (call {first.tool_call_id}) has no call before it")
        elif unit.kind == "system":
            problems.append(f"system message {first.id or unit.start} is not at the start")
        elif not unit.complete and not (allow_pending and pos == len(units) - 1 and len(unit.indices) == 1):
            problems.append(f"AI message {first.id or unit.start} has tool calls without results")
    return problems
