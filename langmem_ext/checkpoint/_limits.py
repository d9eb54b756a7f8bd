"""Size limits checked before any I/O (pure).

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> too_big(HumanMessage("x" * 10, id="m1"), limit=4)
    (HumanMessage(content='xxxxxxxxxx', additional_kwargs={}, response_metadata={}, id='m1'), 10)
    >>> too_big({"messages": [HumanMessage("ok")]}, limit=4) is None
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage

__all__ = ["message_bytes", "too_big"]


def _text_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return sum(_text_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_text_bytes(v) for v in value)
    return 0


def message_bytes(message: BaseMessage) -> int:
    """Bytes of a message's content (text parts and string fields of content blocks)."""
    return _text_bytes(message.content)


def too_big(value: Any, *, limit: int) -> tuple[BaseMessage, int] | None:
    """The first message in ``value`` (lists, tuples, dicts) whose content exceeds ``limit``."""
    if isinstance(value, BaseMessage):
        size = message_bytes(value)
        return (value, size) if size > limit else None
    items = value.values() if isinstance(value, Mapping) else value
    if isinstance(value, (Mapping, list, tuple)):
        for item in items:
            if found := too_big(item, limit=limit):
                return found
    return None
