"""Message helpers shared by short- and long-term memory: text, stable keys, merging, queries.

A leaf module: it imports nothing from ``langmem_ext``, so every other module may use it
without creating an import cycle.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> m = HumanMessage([{"type": "text", "text": "I live in Porto."}, {"type": "image_url", "image_url": "x"}])
    >>> message_text(m)
    'I live in Porto.'
    >>> message_key(m) == message_key(HumanMessage("I live in Porto."))  # no id: from type and text
    True
    >>> message_key(HumanMessage("hi", id="m1"))
    'm1'
    >>> [x.content for x in merge_messages([HumanMessage("a", id="1"), HumanMessage("b", id="2")],
    ...                                    [HumanMessage("b2", id="2")])]
    ['a', 'b2']
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

__all__ = ["CONTENT_WORD", "build_queries", "merge_messages", "message_key", "message_text", "split_sentences"]

CONTENT_WORD = re.compile(r"[A-Za-z0-9']{3,}")
"""A word that carries content (three or more letters or digits)."""

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def message_text(message: BaseMessage) -> str:
    """The text of a message: its string content, or its text blocks joined by newlines."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "\n".join(parts)


def message_key(message: BaseMessage) -> str:
    """A key for a message that is the same in every process: its id, else a digest.

    The digest covers the type, the text and any tool calls (``"h:"`` + 16 hex digits of
    SHA-1), so caches and reflection cursors keyed by it survive restarts, unlike
    Python's salted ``hash()``.
    """
    if message.id:
        return str(message.id)
    basis = f"{message.type}:{message_text(message)}"
    calls = message.tool_calls if isinstance(message, AIMessage) else None
    if calls:
        basis += "\x1f" + json.dumps([[c.get("name"), c.get("args"), c.get("id")] for c in calls], sort_keys=True, default=str)
    if isinstance(message, ToolMessage):
        basis += "\x1f" + str(message.tool_call_id)
    return "h:" + hashlib.sha1(basis.encode()).hexdigest()[:16]


def merge_messages(older: Sequence[BaseMessage], newer: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Union of two message lists by :func:`message_key`: messages only in ``older`` first, then ``newer``.

    A message present in both is taken from ``newer`` (it may have been edited).
    """
    newer_keys = {message_key(m) for m in newer}
    return [m for m in older if message_key(m) not in newer_keys] + list(newer)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (split after ``.!?`` and at line breaks), stripped, non-empty.

    Example:
        >>> split_sentences("I live in Porto. I love jazz!\\nBye")
        ['I live in Porto.', 'I love jazz!', 'Bye']
    """
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def build_queries(messages: Sequence[BaseMessage], *, max_queries: int = 6) -> list[str]:
    """Search queries drawn from ALL the given messages, not only the last one.

    Each human message contributes its sentences (most content words first);
    assistant replies contribute their first sentence; duplicates are dropped.

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage
        >>> build_queries([HumanMessage("Hi. I moved to Oslo with my dog Bruno."), AIMessage("Welcome! Oslo is nice.")])
        ['I moved to Oslo with my dog Bruno.', 'Welcome!']
    """
    human: list[str] = []
    other: list[str] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            human.extend(split_sentences(message_text(message)))
        elif isinstance(message, AIMessage) and message_text(message).strip():
            other.extend(split_sentences(message_text(message))[:1])
    ranked = sorted(human, key=lambda s: -len(CONTENT_WORD.findall(s))) + other
    out: list[str] = []
    seen: set[str] = set()
    for text in ranked:
        q = text.strip()[:300]
        if len(CONTENT_WORD.findall(q)) < 1 or q.lower() in seen:
            continue
        seen.add(q.lower())
        out.append(q)
        if len(out) >= max_queries:
            break
    return out
