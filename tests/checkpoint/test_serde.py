"""MessageSerializer must be indistinguishable from LangGraph's JsonPlusSerializer.

Differential: for generated message lists (tool calls, blocks, metadata, extras,
subclasses, nested pydantic values, other layouts) the bytes written are the same, and
decoding either side's bytes gives equal objects of the same type with the same set
fields and extras.
"""

from __future__ import annotations

import logging
from typing import Any

import ormsgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.checkpoint.serde import jsonplus
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

from langmem_ext.checkpoint import RedisSaver
from langmem_ext.checkpoint.serde import MessageSerializer


class Note(BaseModel):
    text: str
    score: float = 0.0


class TaggedHuman(HumanMessage):
    """A user subclass: must take LangGraph's path (the short path is exact classes only)."""

    tag: str = "x"


text = st.text(max_size=30)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), text)
plain = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
    max_leaves=6,
)
content = st.one_of(
    text,
    st.lists(
        st.one_of(text, st.fixed_dictionaries({"type": st.just("text"), "text": text})),
        max_size=3,
    ),
)
extra_kwargs = st.dictionaries(st.sampled_from(["a", "b", "refusal"]), plain, max_size=2)
ids = st.one_of(st.none(), text)
tool_call = st.fixed_dictionaries(
    {"name": st.sampled_from(["search", "add"]), "args": st.dictionaries(st.text(max_size=4), scalars, max_size=2), "id": ids}
)


@st.composite
def messages(draw: Any) -> Any:
    kind = draw(st.sampled_from(["human", "ai", "ai_tools", "ai_old_tools", "system", "tool", "chat", "function", "chunk", "sub", "extra", "remove", "nested"]))
    c, kw, mid = draw(content), draw(extra_kwargs), draw(ids)
    if kind == "human":
        return HumanMessage(c, additional_kwargs=kw, id=mid, name=draw(st.none() | text))
    if kind == "ai":
        usage = draw(st.none() | st.builds(lambda i, o: {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}, st.integers(0, 9), st.integers(0, 9)))
        return AIMessage(c, additional_kwargs=kw, id=mid, response_metadata=draw(extra_kwargs), usage_metadata=usage)
    if kind == "ai_tools":
        return AIMessage(c, tool_calls=draw(st.lists(tool_call, min_size=1, max_size=2)), id=mid)
    if kind == "ai_old_tools":  # OpenAI-style raw calls only in additional_kwargs
        raw = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": draw(st.sampled_from(['{"x": 1}', "not json"]))}}]
        return AIMessage(c, additional_kwargs={"tool_calls": raw}, id=mid)
    if kind == "system":
        return SystemMessage(c, id=mid)
    if kind == "tool":
        return ToolMessage(c, tool_call_id=draw(text), artifact=draw(plain), status=draw(st.sampled_from(["success", "error"])), id=mid)
    if kind == "chat":
        return ChatMessage(c, role=draw(st.sampled_from(["user", "critic"])), id=mid)
    if kind == "function":
        return FunctionMessage(c, name="fn", id=mid)
    if kind == "chunk":
        return AIMessageChunk(c, id=mid)
    if kind == "sub":
        return TaggedHuman(c, tag=draw(text), id=mid)
    if kind == "extra":
        return HumanMessage(c, id=mid, mood=draw(text))  # extra="allow" on messages
    if kind == "remove":
        return RemoveMessage(id=draw(text))
    return HumanMessage(c, additional_kwargs={"note": Note(text=draw(text))}, id=mid)


def same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert a == b
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set
        assert a.__pydantic_extra__ == b.__pydantic_extra__
        assert a.model_dump() == b.model_dump()
    if isinstance(a, list):
        for x, y in zip(a, b):
            same(x, y)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages(), max_size=6))
def test_same_bytes_and_same_objects_as_jsonplus(state: list[Any]) -> None:
    fast, plain_serde = MessageSerializer(), JsonPlusSerializer()
    written = fast.dumps_typed(state)
    assert written == plain_serde.dumps_typed(state)
    same(fast.loads_typed(written), plain_serde.loads_typed(written))


def test_a_state_dict_with_messages_and_other_values_round_trips() -> None:
    state = {"messages": [HumanMessage("hi", id="1")], "n": 3, "note": Note(text="t"), "raw": b"\x00"}
    fast = MessageSerializer()
    assert fast.dumps_typed(state) == JsonPlusSerializer().dumps_typed(state)
    back = fast.loads_typed(fast.dumps_typed(state))
    same(back["messages"], JsonPlusSerializer().loads_typed(fast.dumps_typed(state))["messages"])
    assert back == state


def _message_ext(module: str, name: str, kwargs: dict[str, Any]) -> bytes:
    body = ormsgpack.packb((module, name, kwargs, "model_validate_json"))
    return ormsgpack.packb([ormsgpack.Ext(jsonplus.EXT_PYDANTIC_V2, body)])


def test_an_older_layout_is_validated_not_constructed() -> None:
    """Missing fields (another langchain-core version): validation must fill and parse them."""
    raw = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}]
    data = _message_ext("langchain_core.messages.ai", "AIMessage", {"content": "", "additional_kwargs": {"tool_calls": raw}, "type": "ai"})
    got = MessageSerializer().loads_typed(("msgpack", data))[0]
    same(got, JsonPlusSerializer().loads_typed(("msgpack", data))[0])
    assert got.tool_calls and got.tool_calls[0]["name"] == "f"  # parsed by validation


def test_the_short_path_is_taken_for_plain_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard against the optimisation silently switching off (e.g. a field layout change)."""
    from langmem_ext.checkpoint import serde as module

    called: list[str] = []
    original = module._construct

    def spy(cls: Any, kwargs: dict[str, Any]) -> Any:
        called.append(cls.__name__)
        return original(cls, kwargs)

    monkeypatch.setattr(module, "_construct", spy)
    fast = MessageSerializer()
    state = [HumanMessage("a"), AIMessage("b"), AIMessage("c", tool_calls=[{"name": "f", "args": {}, "id": "1"}])]
    fast.loads_typed(fast.dumps_typed(state))
    assert called == ["HumanMessage", "AIMessage"]  # the tool-call message was validated


def test_strict_allowlist_clone_keeps_blocking_unknown_types(caplog: pytest.LogCaptureFixture) -> None:
    strict = MessageSerializer(allowed_msgpack_modules=None).with_msgpack_allowlist([("x", "Y")])
    assert isinstance(strict, MessageSerializer)
    data = strict.dumps_typed([HumanMessage("hi", id="1"), Note(text="t")])
    with caplog.at_level(logging.WARNING):
        back = strict.loads_typed(data)
    same(back[0], JsonPlusSerializer().loads_typed(data)[0])
    assert back[1] == {"text": "t", "score": 0.0}  # blocked: raw kwargs, as JsonPlusSerializer does
    assert back[1] == JsonPlusSerializer(allowed_msgpack_modules=None).loads_typed(data)[1]


def test_savers_use_it_by_default_and_accept_another(redis_url: str) -> None:
    with RedisSaver.from_conn_string(redis_url) as saver:
        assert isinstance(saver.serde, MessageSerializer)
    plain_serde = JsonPlusSerializer()
    with RedisSaver.from_conn_string(redis_url, serde=plain_serde) as saver:
        assert not isinstance(saver.serde, MessageSerializer)


def test_direct_construction_matches_model_construct() -> None:
    """The import-time self check passed here, so the fastest path is the one under test."""
    from langmem_ext.checkpoint import serde

    assert serde._FAST_CONSTRUCT
    kwargs = AIMessage("x", id="7", response_metadata={"m": 1}).model_dump()
    ours, theirs = serde._construct(AIMessage, dict(kwargs)), AIMessage.model_construct(**kwargs)
    same(ours, theirs)


@pytest.mark.parametrize(
    "body",
    [b"\xc1", ormsgpack.packb({"not": "a tuple"}), ormsgpack.packb(["langchain_core.messages.human"])],
)
def test_damaged_message_data_is_handled_as_jsonplus_handles_it(body: bytes) -> None:
    data = ormsgpack.packb([ormsgpack.Ext(jsonplus.EXT_PYDANTIC_V2, body)])

    def outcome(serde: Any) -> Any:
        try:
            return serde.loads_typed(("msgpack", data))
        except Exception as exc:  # the same failure, not a different one
            return type(exc), str(exc)

    assert outcome(MessageSerializer()) == outcome(JsonPlusSerializer())
