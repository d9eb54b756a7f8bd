"""A faster :class:`JsonPlusSerializer` for message-heavy state: same bytes, same objects.

Most of a chatbot's checkpoint is its message list, and LangGraph's serializer spends most
of its time there: each message is encoded with ``model_dump()`` and decoded by running
its class's full pydantic validation and ``__init__`` again. :class:`MessageSerializer`
keeps LangGraph's wire format byte for byte and takes a short path only where that is
provably the same:

- **encode**: a plain LangChain message (no extra attributes) is packed from its field
  dict, which is what ``model_dump()`` returns for these field types;
- **decode**: a message whose stored fields are exactly its class's current fields, and
  which carries no tool calls (the one place validation rewrites data), is rebuilt with
  ``model_construct`` instead of being re-validated.

Anything else (other types, old-format messages, tool-call messages, extras, strict
allow-lists) goes through LangGraph's own code, so what comes back is the same as with
``JsonPlusSerializer`` (a differential test checks this). Decoding a 50-message state
takes about half the time.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    >>> fast, plain = MessageSerializer(), JsonPlusSerializer()
    >>> state = [HumanMessage("hi", id="1"), AIMessage("hello", id="2")]
    >>> fast.dumps_typed(state) == plain.dumps_typed(state)
    True
    >>> fast.loads_typed(plain.dumps_typed(state)) == state
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
_OPTION = jsonplus._option  # LangGraph's packing options: identical bytes
_NON_STR_KEYS = ormsgpack.OPT_NON_STR_KEYS
_CLASSES = (AIMessage, HumanMessage, SystemMessage, ToolMessage, ChatMessage, FunctionMessage)
# (module, name) -> (class, its field names); exact classes only, never subclasses.
_BY_NAME = {(c.__module__, c.__name__): (c, frozenset(c.model_fields)) for c in _CLASSES}
_BY_TYPE = {c: (c.__module__, c.__name__) for c in _CLASSES}
_TOOL_KEYS = ("tool_calls", "invalid_tool_calls", "tool_call_chunks")


_SCALARS = (str, int, float, bool, type(None))


def _is_plain(value: Any) -> bool:
    """JSON-like data, which ``model_dump()`` hands back as it is."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        return all(type(k) is str and _is_plain(v) for k, v in value.items())
    if kind is list:
        return all(_is_plain(v) for v in value)
    return False


def _default(obj: Any) -> Any:
    name = _BY_TYPE.get(type(obj))
    if name is not None and not obj.__pydantic_extra__ and _is_plain(obj.__dict__):
        # For these classes and plain values, model_dump() is the field dict itself.
        body = (name[0], name[1], obj.__dict__, "model_validate_json")
        return ormsgpack.Ext(_EXT, ormsgpack.packb(body, default=_default, option=_OPTION))
    return jsonplus._msgpack_default(obj)


def _plain(kwargs: Any, fields: frozenset[str]) -> bool:
    """Whether validation would hand ``kwargs`` back unchanged (so it can be skipped)."""
    if type(kwargs) is not dict or kwargs.keys() != fields:
        return False  # another langchain-core version's layout, or extras: validate
    if any(kwargs.get(k) for k in _TOOL_KEYS):
        return False  # AIMessage rebuilds tool calls on validation
    extra = kwargs["additional_kwargs"]
    return type(extra) is dict and not extra.get("tool_calls")


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
            tup = ormsgpack.unpackb(data, ext_hook=self._hook, option=_NON_STR_KEYS)
            known = _BY_NAME.get((tup[0], tup[1])) if len(tup) == 4 else None
            if known is not None and _plain(tup[2], known[1]):
                return known[0].model_construct(**tup[2])
        return self._slow_hook(code, data)

    def with_msgpack_allowlist(self, extra_allowlist: Any) -> JsonPlusSerializer:
        """LangGraph's strict-mode clone, keeping the short path (it only takes safe types)."""
        clone = super().with_msgpack_allowlist(extra_allowlist)
        if clone is not self and isinstance(clone, MessageSerializer):
            clone._slow_hook = clone._unpack_ext_hook
            clone._unpack_ext_hook = clone._hook
        return clone

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        if obj is None or isinstance(obj, (bytes, bytearray)):
            return super().dumps_typed(obj)
        try:
            return "msgpack", ormsgpack.packb(obj, default=_default, option=_OPTION)
        except ormsgpack.MsgpackEncodeError:
            return super().dumps_typed(obj)  # pickle fallback or the same error
