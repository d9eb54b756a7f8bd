"""A faster :class:`JsonPlusSerializer` for message-heavy state: same bytes, same objects.

Most of a chatbot's checkpoint is its message list, and reading it back is most of a
``get_tuple``: LangGraph's serializer re-imports each message's class and runs its full
pydantic validation and ``__init__`` again. :class:`MessageSerializer` writes exactly what
``JsonPlusSerializer`` writes and reads it back the same way, except that a message whose
stored fields are exactly its class's current fields, and which carries no tool calls
(the one place validation rewrites data), is rebuilt directly, as ``model_construct``
would, instead of being re-validated.

Anything else (other types, old-format messages, tool-call messages, extras, subclasses)
goes through LangGraph's own code, so what comes back equals what ``JsonPlusSerializer``
returns (a differential test checks type, fields, set fields and extras). Decoding a
50-message state takes about half the time. (Encoding has no such shortcut:
``model_dump`` is already fast.)

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    >>> fast, plain = MessageSerializer(), JsonPlusSerializer()
    >>> state = [HumanMessage("hi", id="1"), AIMessage("hello", id="2")]
    >>> stored = plain.dumps_typed(state)
    >>> fast.dumps_typed(state) == stored
    True
    >>> fast.loads_typed(stored) == plain.loads_typed(stored) == state
    True
"""

from __future__ import annotations

from typing import Any

import ormsgpack
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.checkpoint.serde import jsonplus
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

__all__ = ["MessageSerializer"]

_EXT = jsonplus.EXT_PYDANTIC_V2
_NON_STR_KEYS = ormsgpack.OPT_NON_STR_KEYS
_CLASSES = (AIMessage, HumanMessage, SystemMessage, ToolMessage, ChatMessage, FunctionMessage)
# (module, name) -> (class, its field names); exact classes only, never subclasses.
_BY_NAME = {(c.__module__, c.__name__): (c, frozenset(c.model_fields)) for c in _CLASSES}
_TOOL_KEYS = ("tool_calls", "invalid_tool_calls", "tool_call_chunks")
_set = object.__setattr__


def _construct(cls: Any, kwargs: dict[str, Any]) -> Any:
    """``cls.model_construct(**kwargs)`` for a complete field dict, without its overhead.

    Sets the four slots pydantic v2 gives every model; :func:`_self_check` compares the
    result with ``model_construct`` at import and switches this path off on a mismatch.
    """
    obj = cls.__new__(cls)
    _set(obj, "__dict__", kwargs)
    _set(obj, "__pydantic_fields_set__", set(kwargs))
    _set(obj, "__pydantic_extra__", {})
    _set(obj, "__pydantic_private__", None)
    return obj


def _self_check() -> bool:
    for cls in _CLASSES:
        sample = {k: f.get_default(call_default_factory=True) for k, f in cls.model_fields.items()}
        sample.update(content="x", id="1")
        ours, theirs = _construct(cls, dict(sample)), cls.model_construct(**sample)
        for slot in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"):
            if getattr(ours, slot) != getattr(theirs, slot):
                return False
    return True


def _plain(kwargs: Any, fields: frozenset[str]) -> bool:
    """Whether validation would hand ``kwargs`` back unchanged (so it can be skipped)."""
    if type(kwargs) is not dict or kwargs.keys() != fields:
        return False  # another langchain-core version's layout, or extras: validate
    if any(kwargs.get(k) for k in _TOOL_KEYS):
        return False  # AIMessage rebuilds tool calls on validation
    extra = kwargs["additional_kwargs"]
    return type(extra) is dict and not extra.get("tool_calls")


_FAST_CONSTRUCT = _self_check()


class MessageSerializer(JsonPlusSerializer):
    """LangGraph's ``JsonPlusSerializer`` with a short path for LangChain messages.

    Takes the same arguments as ``JsonPlusSerializer`` and writes the same bytes, so
    checkpoints move freely between it, ``JsonPlusSerializer`` and other savers. The
    default serializer of :class:`~langmem_ext.checkpoint.RedisSaver` and
    :class:`~langmem_ext.checkpoint.AsyncRedisSaver`; pass ``serde=JsonPlusSerializer()``
    to opt out.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._slow_hook = self._unpack_ext_hook
        self._unpack_ext_hook = self._hook

    def _hook(self, code: int, data: bytes) -> Any:
        if code == _EXT:
            try:
                tup = ormsgpack.unpackb(data, ext_hook=self._hook, option=_NON_STR_KEYS)
                known = _BY_NAME.get((tup[0], tup[1])) if type(tup) is list and len(tup) == 4 else None
            except Exception:  # damaged data: LangGraph's hook has its own fallbacks
                known = None
            if known is not None and _plain(tup[2], known[1]):
                if _FAST_CONSTRUCT:
                    return _construct(known[0], tup[2])
                return known[0].model_construct(**tup[2])
        return self._slow_hook(code, data)

    def with_msgpack_allowlist(self, extra_allowlist: Any) -> JsonPlusSerializer:
        """LangGraph's strict-mode clone, keeping the short path (it only takes safe types)."""
        clone = super().with_msgpack_allowlist(extra_allowlist)
        if clone is not self and isinstance(clone, MessageSerializer):
            clone._slow_hook = clone._unpack_ext_hook
            clone._unpack_ext_hook = clone._hook
        return clone
