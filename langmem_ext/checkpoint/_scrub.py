"""Remove messages (by id) from arbitrary stored values: the pure half of ``purge_messages``.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> value = {"messages": [HumanMessage("keep", id="1"), AIMessage("secret", id="2")]}
    >>> new, removed = scrub(value, frozenset({"2"}))
    >>> [m.content for m in new["messages"]], removed
    (['keep'], 1)
    >>> scrub(HumanMessage("gone", id="2"), frozenset({"2"}))[0] is DROP
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import BaseModel

__all__ = ["DROP", "scrub"]


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()
"""Returned by :func:`scrub` when the whole value is a deleted message."""


def _is_message_dict(value: Mapping[Any, Any], ids: frozenset[str]) -> bool:
    return (
        isinstance(value.get("id"), str)
        and value["id"] in ids
        and any(k in value for k in ("content", "role", "type"))
    )


def scrub(value: Any, ids: frozenset[str]) -> tuple[Any, int]:
    """``(value without the messages whose id is in ids, how many were removed)``.

    Walks lists, tuples, dicts, dataclasses (e.g. ``Send``-like and ``Interrupt`` values),
    pydantic models and ``Send``; a message (object or dict form) with a listed id is
    removed from its container. Returns :data:`DROP` when ``value`` itself is such a
    message. The input is never mutated; unchanged values are returned as they are.
    """
    if isinstance(value, BaseMessage):
        return (DROP, 1) if value.id in ids else (value, 0)
    if isinstance(value, (list, tuple)):
        out, removed = [], 0
        for item in value:
            new, n = scrub(item, ids)
            removed += n
            if new is not DROP:
                out.append(new)
        if not removed:
            return value, 0
        return (tuple(out) if isinstance(value, tuple) else out), removed
    if isinstance(value, Mapping):
        if _is_message_dict(value, ids):
            return DROP, 1
        changed, removed = {}, 0
        for key, item in value.items():
            new, n = scrub(item, ids)
            if n:
                changed[key] = new
                removed += n
        if not removed:
            return value, 0
        result = {k: v for k, v in value.items() if k not in changed}
        result.update({k: v for k, v in changed.items() if v is not DROP})
        return result, removed
    if type(value).__name__ == "Send" and hasattr(value, "arg") and hasattr(value, "node"):
        new, n = scrub(value.arg, ids)
        if not n:
            return value, 0
        return (DROP, n) if new is DROP else (type(value)(value.node, new), n)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        updates, removed = {}, 0
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            new, n = scrub(getattr(value, f.name), ids)
            if n:
                updates[f.name] = None if new is DROP else new
                removed += n
        return (dataclasses.replace(value, **updates), removed) if removed else (value, 0)
    if isinstance(value, BaseModel):
        updates, removed = {}, 0
        for name in type(value).model_fields:
            new, n = scrub(getattr(value, name), ids)
            if n:
                updates[name] = None if new is DROP else new
                removed += n
        return (value.model_copy(update=updates), removed) if removed else (value, 0)
    return value, 0
