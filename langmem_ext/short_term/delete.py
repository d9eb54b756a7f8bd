"""Permanent deletion that leaves a history every chat API accepts.

Selections (any combination, united): explicit ``ids``, a ``predicate``, everything but
the last ``keep_last_turns`` turns, or ``everything``. The selection then grows so that
what remains is valid for OpenAI and Anthropic: deleting an AI tool-call message deletes
its ToolMessages and vice versa, orphan ToolMessages go, and leading AI/tool messages
that would follow the system prompt go until a human message starts the history.
System messages are deleted only when named in ``ids``.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    >>> call = AIMessage("", id="a1", tool_calls=[{"name": "f", "args": {}, "id": "c1"}])
    >>> history = [HumanMessage("hi", id="h1"), call, ToolMessage("r", tool_call_id="c1", id="t1"),
    ...            AIMessage("done", id="a2"), HumanMessage("bye", id="h2")]
    >>> select_deletions(history, ids=["t1"])
    ['a1', 't1']
    >>> select_deletions(history, keep_last_turns=1)
    ['h1', 'a1', 't1', 'a2']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from langchain_core.messages import BaseMessage, RemoveMessage

from langmem_ext.short_term.messages import group_units, split_head

__all__ = ["delete_messages", "deletion_updates", "select_deletions"]


def select_deletions(
    messages: Sequence[BaseMessage],
    *,
    ids: Iterable[str] | None = None,
    predicate: Callable[[BaseMessage], bool] | None = None,
    keep_last_turns: int | None = None,
    everything: bool = False,
) -> list[str]:
    """Ids of the messages to delete, in history order (see the module docstring).

    Ids not in ``messages`` are ignored, so deleting twice is the same as deleting once.

    Raises:
        ValueError: no selection given, a bad ``keep_last_turns``, or a message without id.
    """
    if ids is None and predicate is None and keep_last_turns is None and not everything:
        raise ValueError("Say what to delete: ids=, predicate=, keep_last_turns= or everything=True.")
    if keep_last_turns is not None and keep_last_turns < 0:
        raise ValueError(f"keep_last_turns must be >= 0, got {keep_last_turns}.")
    missing = [i for i, m in enumerate(messages) if not m.id]
    if missing:
        raise ValueError(
            f"Messages at positions {missing[:5]} have no id, so they cannot be deleted by id: "
            "keep messages in a LangGraph state with the add_messages reducer (it assigns ids)."
        )
    wanted = set(ids or ())
    head, rest = split_head(messages)
    doomed = {m.id for m in head if m.id in wanted}
    units = group_units(rest)
    human_units = [k for k, u in enumerate(units) if u.kind == "human"]
    if everything:
        first_kept_unit = len(units)
    elif keep_last_turns is not None:
        if keep_last_turns == 0:
            first_kept_unit = len(units)
        elif keep_last_turns >= len(human_units):
            first_kept_unit = 0
        else:
            first_kept_unit = human_units[-keep_last_turns]
    else:
        first_kept_unit = 0
    for k, unit in enumerate(units):
        members = [rest[i] for i in unit.indices]
        hit = (
            k < first_kept_unit
            or unit.kind == "orphan_tool"
            or (unit.kind == "tool_group" and not unit.complete and k < len(units) - 1)
            or any(m.id in wanted for m in members)
            or (predicate is not None and any(predicate(m) for m in members))
        )
        if hit:
            doomed.update(m.id for m in members)
    for unit in units:  # the survivors must start on a human message
        if all(rest[i].id in doomed for i in unit.indices):
            continue
        if unit.kind == "human":
            break
        doomed.update(rest[i].id for i in unit.indices)
    return [m.id for m in messages if m.id in doomed]


def delete_messages(messages: Sequence[BaseMessage], **selection: object) -> list[BaseMessage]:
    """The history without the selected messages (input untouched); options as :func:`select_deletions`."""
    doomed = set(select_deletions(messages, **selection))  # type: ignore[arg-type]
    return [m for m in messages if m.id not in doomed]


def deletion_updates(messages: Sequence[BaseMessage], **selection: object) -> list[RemoveMessage]:
    """``RemoveMessage`` updates for a LangGraph ``messages`` channel; options as :func:`select_deletions`."""
    return [RemoveMessage(id=i) for i in select_deletions(messages, **selection)]  # type: ignore[arg-type]
