"""Exact, cached token counting for chat messages.

OpenAI's chat format costs a few tokens beyond the text: ~3 per message, 1 more for a
``name``, 3 to prime the reply, and a tool call's name and JSON arguments. Counts are
cached per message id, content hash and tool calls, so a turn recounts only the new
messages (and a message whose content was edited in place is counted again).

Example:
    >>> from langchain_core.messages import HumanMessage, SystemMessage
    >>> counter = MessageTokenCounter(tokenizer_model="gpt-4o-mini")
    >>> msgs = [SystemMessage("Be brief.", id="s"), HumanMessage("hello world", id="h")]
    >>> counter.count_message(msgs[1])  # 2 text + 3 per message + 1 role
    6
    >>> counter(msgs)  # + 3 to prime the reply
    16
    >>> counter.cache_info()["entries"]
    2
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from langmem_ext._options import check_non_negative, check_positive, deprecated_options
from langmem_ext.messages import message_text
from langmem_ext.tokens import encoding_for_model

__all__ = ["DEFAULT_TOKENIZER_MODEL", "MessageTokenCounter", "TokenCounterLike", "as_counter"]

TokenCounterLike = Callable[[Sequence[BaseMessage]], int]
"""A LangChain-style counter: messages in, total tokens out."""

DEFAULT_TOKENIZER_MODEL = "gpt-4o-mini"
"""The tokenizer every node and function counts with unless ``tokenizer_model=`` names another."""

_IMAGE_TOKENS = 85  # OpenAI's flat cost of a low-detail image block


def _non_text_blocks(message: BaseMessage) -> int:
    content = message.content
    if isinstance(content, str):
        return 0
    return sum(1 for b in content if isinstance(b, dict) and not isinstance(b.get("text"), str))


def _calls(message: BaseMessage) -> Any:
    return message.tool_calls if isinstance(message, AIMessage) else None


class MessageTokenCounter:
    """Counts tokens of chat messages for one model, caching each message's count.

    Args:
        tokenizer_model: model name choosing the tiktoken encoding (``o200k_base`` for gpt-4o and
            newer, ``cl100k_base`` otherwise; other providers' models are approximated).
        token_counter: a LangChain-style counter to use instead of tiktoken; it is called
            with one message at a time and cached the same way.
        tokens_per_message: chat-format overhead of each message.
        tokens_per_name: extra cost of a message's ``name``.
        reply_priming: tokens added once per request to prime the reply.
        max_entries: size of the per-message cache (oldest entries evicted first).
        model: deprecated name of ``tokenizer_model``.
    """

    def __init__(
        self,
        *,
        tokenizer_model: str | None = None,
        token_counter: TokenCounterLike | None = None,
        tokens_per_message: int = 3,
        tokens_per_name: int = 1,
        reply_priming: int = 3,
        max_entries: int = 100_000,
        **deprecated: Any,
    ) -> None:
        tokenizer_model = deprecated_options("MessageTokenCounter", deprecated, {"model": "tokenizer_model"},
                                             tokenizer_model=tokenizer_model)["tokenizer_model"] or DEFAULT_TOKENIZER_MODEL
        check_non_negative("MessageTokenCounter", tokens_per_message=tokens_per_message,
                           tokens_per_name=tokens_per_name, reply_priming=reply_priming)
        check_positive("MessageTokenCounter", max_entries=max_entries)
        self.tokenizer_model = tokenizer_model
        self._external = token_counter
        self._encode = None if token_counter else encoding_for_model(tokenizer_model).encode_ordinary
        self.tokens_per_message = tokens_per_message
        self.tokens_per_name = tokens_per_name
        self.reply_priming = 0 if token_counter else reply_priming
        self._cache: dict[tuple[Any, ...], int] = {}
        # id(obj) -> (obj, content, count): skips hashing for objects seen before unchanged
        self._same: dict[int, tuple[BaseMessage, Any, int, Any, Any]] = {}
        self._max_entries = max_entries
        self._hits = 0
        self._misses = 0

    def text_tokens(self, text: str) -> int:
        """Tokens of a plain text (no message overhead)."""
        if self._encode is None:
            from langchain_core.messages import HumanMessage

            return self._external([HumanMessage(text)])  # type: ignore[misc]
        return len(self._encode(text))

    def _key(self, message: BaseMessage) -> tuple[Any, ...]:
        content = message.content
        chash = hash(content) if isinstance(content, str) else hash(repr(content))
        calls = hash(repr(message.tool_calls)) if isinstance(message, AIMessage) and message.tool_calls else 0
        call_id = message.tool_call_id if isinstance(message, ToolMessage) else None
        return (message.id, message.type, chash, calls, message.name, call_id)

    def _compute(self, message: BaseMessage) -> int:
        if self._external is not None:
            return int(self._external([message]))
        enc = self._encode
        assert enc is not None
        n = self.tokens_per_message + len(enc(message_text(message))) + 1  # +1: the role
        n += _IMAGE_TOKENS * _non_text_blocks(message)
        if message.name:
            n += self.tokens_per_name + len(enc(message.name))
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                n += 3 + len(enc(call["name"])) + len(enc(json.dumps(call["args"], ensure_ascii=False)))
        if isinstance(message, ToolMessage):
            n += len(enc(message.tool_call_id))
        return n

    def count_message(self, message: BaseMessage) -> int:
        """Tokens of one message, overhead included (cached)."""
        fast = self._same.get(id(message))
        if fast is not None and fast[0] is message and fast[1] is message.content and fast[3] is message.name and fast[4] is _calls(message):
            self._hits += 1  # the very same object with the very same content string
            return fast[2]
        key = self._key(message)
        cached = self._cache.get(key)
        if cached is not None:
            self._hits += 1
            self._remember(message, cached)
            return cached
        self._misses += 1
        n = self._compute(message)
        if len(self._cache) >= self._max_entries:
            del self._cache[next(iter(self._cache))]
        self._cache[key] = n
        self._remember(message, n)
        return n

    def _remember(self, message: BaseMessage, n: int) -> None:
        if not isinstance(message.content, str):
            return
        if len(self._same) >= self._max_entries:
            self._same.clear()
        self._same[id(message)] = (message, message.content, n, message.name, _calls(message))

    def __call__(self, messages: Iterable[BaseMessage]) -> int:
        """Tokens of a whole request: every message plus the reply priming."""
        total = sum(self.count_message(m) for m in messages)
        return total + self.reply_priming if total else 0

    def cache_info(self) -> dict[str, int]:
        """Cache statistics: ``entries``, ``hits``, ``misses``."""
        return {"entries": len(self._cache), "hits": self._hits, "misses": self._misses}


def as_counter(
    counter: MessageTokenCounter | TokenCounterLike | None = None, *, tokenizer_model: str | None = None
) -> MessageTokenCounter:
    """A :class:`MessageTokenCounter` from a counter, a LangChain counter function or a model name."""
    if isinstance(counter, MessageTokenCounter):
        return counter
    if counter is None:
        return MessageTokenCounter(tokenizer_model=tokenizer_model)
    if callable(counter):
        return MessageTokenCounter(token_counter=counter)
    raise TypeError(
        f"token_counter must be a MessageTokenCounter or a callable(messages) -> int, got {type(counter).__name__}."
    )
