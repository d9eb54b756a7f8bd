"""Remove messages (by id) from arbitrary stored values: the pure half of ``purge_messages``.

A message sent without an id (``("user", text)``, a dict, or a message object before
``add_messages`` gave it one) is stored as sent in the input write and the ``__start__``
channel. :func:`fingerprints` reads the role and content of the doomed messages from the
copies that do carry the id, and :func:`scrub` also removes id-less copies that match.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> value = {"messages": [HumanMessage("keep", id="1"), AIMessage("secret", id="2")]}
    >>> new, removed = scrub(value, frozenset({"2"}))
    >>> [m.content for m in new["messages"]], removed
    (['keep'], 1)
    >>> scrub(HumanMessage("gone", id="2"), frozenset({"2"}))[0] is DROP
    True
    >>> sent = fingerprints(HumanMessage("my secret", id="9"), frozenset({"9"}))
    >>> scrub({"messages": [("user", "my secret"), ("user", "other")]}, frozenset({"9"}), sent)
    ({'messages': [('user', 'other')]}, 1)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import BaseModel

__all__ = ["DROP", "scrub", "fingerprints", "Fingerprint"]


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()
"""Returned by :func:`scrub` when the whole value is a deleted message."""


Fingerprint = tuple[str, str]
"""``(role, content)`` of a message, to recognise its id-less copies."""

_ROLES = {
    "human": "human", "user": "human", "ai": "ai", "assistant": "ai", "system": "system",
    "developer": "system", "tool": "tool", "function": "tool",
}  # fmt: skip


def _role(kind: Any) -> str | None:
    if not isinstance(kind, str):
        return None
    kind = kind.lower().removesuffix("chunk").removesuffix("message")
    return _ROLES.get(kind, kind or None)


def _print(role: Any, content: Any) -> Fingerprint | None:
    r = _role(role)
    return None if r is None else (r, content if isinstance(content, str) else repr(content))


def _is_message_dict(value: Mapping[Any, Any], ids: frozenset[str]) -> bool:
    return (
        isinstance(value.get("id"), str)
        and value["id"] in ids
        and any(k in value for k in ("content", "role", "type"))
    )


def _dict_print(value: Mapping[Any, Any]) -> Fingerprint | None:
    if "content" not in value:
        return None
    return _print(value.get("role", value.get("type")), value["content"])


def fingerprints(value: Any, ids: frozenset[str]) -> set[Fingerprint]:
    """The ``(role, content)`` of every message in ``value`` whose id is in ``ids``."""
    found: set[Fingerprint] = set()
    if isinstance(value, BaseMessage):
        if value.id in ids and (fp := _print(value.type, value.content)):
            found.add(fp)
    elif isinstance(value, Mapping):
        if _is_message_dict(value, ids) and (fp := _dict_print(value)):
            found.add(fp)
        for item in value.values():
            found |= fingerprints(item, ids)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= fingerprints(item, ids)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            found |= fingerprints(getattr(value, f.name), ids)
    elif hasattr(value, "arg") and type(value).__name__ == "Send":
        found |= fingerprints(value.arg, ids)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found |= fingerprints(getattr(value, name), ids)
    return found


def _sent_copy(value: Any, sent: frozenset[Fingerprint]) -> bool:
    """Whether ``value`` is an id-less message (any accepted input form) matching ``sent``."""
    if not sent:
        return False
    if isinstance(value, BaseMessage):
        return value.id is None and _print(value.type, value.content) in sent
    if isinstance(value, Mapping):
        return value.get("id") is None and _dict_print(value) in sent
    if isinstance(value, (list, tuple)) and len(value) == 2 and isinstance(value[0], str):
        return value[0].lower() in _ROLES and _print(value[0], value[1]) in sent
    return False


def scrub(
    value: Any, ids: frozenset[str], sent: frozenset[Fingerprint] = frozenset()
) -> tuple[Any, int]:
    """``(value without the messages whose id is in ids, how many were removed)``.

    Walks lists, tuples, dicts, dataclasses (e.g. ``Interrupt``), pydantic models and
    ``Send``; a message (object or dict form) with a listed id is removed from its
    container, and so is an id-less message (object, ``(role, content)`` pair, dict, or a
    bare string in a list, read as a user message) whose fingerprint is in ``sent``.
    Returns :data:`DROP` when ``value`` itself is such a message. The input is never
    mutated; unchanged values are returned as they are.
    """
    if isinstance(value, BaseMessage):
        return (DROP, 1) if value.id in ids or _sent_copy(value, sent) else (value, 0)
    if _sent_copy(value, sent):
        return DROP, 1
    if isinstance(value, (list, tuple)):
        out, removed = [], 0
        for item in value:
            if isinstance(item, str) and ("human", item) in sent:
                removed += 1
                continue
            new, n = scrub(item, ids, sent)
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
            new, n = scrub(item, ids, sent)
            if n:
                changed[key] = new
                removed += n
        if not removed:
            return value, 0
        result = {k: v for k, v in value.items() if k not in changed}
        result.update({k: v for k, v in changed.items() if v is not DROP})
        return result, removed
    if type(value).__name__ == "Send" and hasattr(value, "arg") and hasattr(value, "node"):
        new, n = scrub(value.arg, ids, sent)
        if not n:
            return value, 0
        return (DROP, n) if new is DROP else (type(value)(value.node, new), n)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        updates, removed = {}, 0
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            new, n = scrub(getattr(value, f.name), ids, sent)
            if n:
                updates[f.name] = None if new is DROP else new
                removed += n
        return (dataclasses.replace(value, **updates), removed) if removed else (value, 0)
    if isinstance(value, BaseModel):
        updates, removed = {}, 0
        for name in type(value).model_fields:
            new, n = scrub(getattr(value, name), ids, sent)
            if n:
                updates[name] = None if new is DROP else new
                removed += n
        return (value.model_copy(update=updates), removed) if removed else (value, 0)
    return value, 0
