"""langmem_ext.llm.call through real ChatOpenAI over HTTP against the validating fake server."""

from __future__ import annotations

import time

import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from langmem_ext.llm import CallPolicy, ModelCallError, acall_structured, call_structured, call_text, snapshot
from langmem_ext.llm.endpoint import endpoint_of, state_of
from langmem_ext.llm.testing import FakeOpenAIServer, Reply

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["n"],
          "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 10}}}
POLICY = CallPolicy(timeout=1.0, backoff=0.01, cooldown=30)


def check(value):
    if not isinstance(value, dict) or not isinstance(value.get("n"), int):
        raise ValueError("n must be an integer")
    return value["n"]


def model(server: FakeOpenAIServer, **kwargs) -> ChatOpenAI:
    # the client's default retries are left on: the machinery must turn them off
    return ChatOpenAI(model="fake", base_url=server.url, api_key="x", **kwargs)


def ask(server, turn="t", **kwargs):
    return call_structured(model(server), [HumanMessage("Rate it.")], purpose="score", schema=SCHEMA, validate=check,
                           max_tokens=24, policy=POLICY, turn=turn, **kwargs)


def test_every_request_is_bounded_and_valid(fake_openai) -> None:
    fake_openai.script(Reply.structured({"n": 4}), Reply.text("Hello."))
    assert ask(fake_openai).value == 4
    assert call_text(model(fake_openai), [HumanMessage("Hi")], purpose="reply", max_tokens=99, memory=False,
                     policy=POLICY).value == "Hello."
    assert [r.max_tokens for r in fake_openai.requests] == [24, 99]
    body = fake_openai.requests[0].body
    assert body["max_tokens"] == body["max_completion_tokens"] == 24  # both names: llama.cpp reads max_tokens
    assert fake_openai.requests[0].method == "json_schema" and fake_openai.invalid == []


def test_json_schema_rejected_with_500_moves_to_tools_and_is_remembered() -> None:
    with FakeOpenAIServer(json_schema=False) as server:
        server.script(Reply.structured({"n": 2}))
        first = ask(server, turn="a")
        assert first.value == 2 and first.method == "function_calling"
        assert [(r.method, r.status) for r in server.requests] == [("json_schema", 500), ("function_calling", 200)]
        server.clear()
        server.script(Reply.structured({"n": 3}))
        assert ask(server, turn="b").value == 3
        assert [r.method for r in server.requests] == ["function_calling"]  # json_schema not tried again
        assert server.requests[0].body["tool_choice"] == "required" and server.invalid == []


def test_tools_rejected_too_moves_to_json_mode_with_the_schema_in_the_prompt() -> None:
    with FakeOpenAIServer(json_schema=False, tools=False) as server:
        server.script(Reply.raw('Here you go: {"n": 7}'))
        result = ask(server)
        assert result.value == 7 and result.method == "json_mode"
        assert '"n"' in server.requests[-1].text and server.invalid == []


@pytest.mark.parametrize("bad", [
    Reply.raw("{not json"),                    # invalid tool-call JSON / non-JSON json_object answer
    Reply.structured({"n": "many"}),           # a schema violation
    Reply.cut_off({"n": 5, "why": "x" * 200}),  # cut at the length limit
    Reply.text(""),                            # nothing
])
@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_one_repair_then_a_usable_answer(monkeypatch, bad, method) -> None:
    monkeypatch.setenv("LANGMEM_EXT_STRUCTURED_METHOD", method)
    with FakeOpenAIServer() as server:
        server.script(bad, Reply.structured({"n": 5}))
        result = ask(server)
        assert result.value == 5 and result.repaired and result.requests == 2
        assert {r.method for r in server.requests} == {method}
        repair = server.requests[1].body["messages"]
        assert repair[-1]["role"] == "user" and "could not be used" in repair[-1]["content"]
        assert server.invalid == []
    assert snapshot().outcomes[("score", "repaired")] == 1


def test_a_second_bad_answer_is_not_repaired_again() -> None:
    with FakeOpenAIServer() as server:
        server.script(Reply.raw("nope"), Reply.raw("still nope"), Reply.structured({"n": 1}))
        with pytest.raises(ModelCallError) as info:
            ask(server)
        assert info.value.failure.kind == "invalid" and len(server.requests) == 2


@pytest.mark.parametrize("failure", [Reply.failure(429), Reply.failure(500), Reply.failure(503), Reply.hang(3)])
def test_transient_failures_are_retried_once_by_us_alone(failure) -> None:
    with FakeOpenAIServer() as server:
        server.script(failure, Reply.structured({"n": 6}))
        started = time.monotonic()
        assert ask(server).value == 6
        assert len(server.requests) == 2  # the client's own retries are off
        assert time.monotonic() - started < 3  # the timeout (1 s) cut the hung request


def test_a_4xx_is_never_resent() -> None:
    with FakeOpenAIServer() as server:
        server.script(Reply.failure(401, "bad key"), Reply.structured({"n": 6}))
        with pytest.raises(ModelCallError) as info:
            ask(server)
        assert info.value.failure.kind == "client" and len(server.requests) == 1


def test_a_failing_server_gets_at_most_three_memory_requests_per_turn() -> None:
    with FakeOpenAIServer(handler=lambda request: Reply.failure(500)) as server:
        for _ in range(5):
            with pytest.raises(ModelCallError):
                ask(server, turn="t1")
        assert len(server.requests) == 2  # one call, one retry; then the endpoint cools down
        state_of(endpoint_of(model(server))).mark_up()  # even without the cool-down, the turn's budget holds
        for _ in range(5):
            with pytest.raises(ModelCallError):
                ask(server, turn="t1")
        assert len(server.requests) == 3


def test_a_reply_ignores_the_memory_cool_down() -> None:
    with FakeOpenAIServer() as server:
        server.script(Reply.failure(500), Reply.failure(500), Reply.text("Here."))
        with pytest.raises(ModelCallError):
            ask(server)
        assert call_text(model(server), [HumanMessage("Hi")], purpose="reply", max_tokens=8, memory=False,
                         policy=POLICY).value == "Here."


def test_context_overflow_is_not_retried_and_the_window_is_learnt() -> None:
    with FakeOpenAIServer(context_window=300) as server:
        with pytest.raises(ModelCallError) as info:
            call_text(model(server), [HumanMessage("word " * 2000)], purpose="summary", max_tokens=50, policy=POLICY)
        assert info.value.failure.kind == "overflow" and len(server.requests) == 1
        assert state_of(endpoint_of(model(server))).context_window == 300


async def test_async_path_takes_the_same_decisions() -> None:
    with FakeOpenAIServer(json_schema=False) as server:
        server.script(Reply.raw("??"), Reply.structured({"n": 9}))
        result = await acall_structured(model(server), [HumanMessage("Rate it.")], purpose="score", schema=SCHEMA,
                                        validate=check, max_tokens=24, policy=POLICY, turn="t")
        assert result.value == 9 and result.repaired
        assert [r.method for r in server.requests] == ["json_schema", "function_calling", "function_calling"]


def test_a_forced_method_is_used(monkeypatch) -> None:
    monkeypatch.setenv("LANGMEM_EXT_STRUCTURED_METHOD", "json_mode")
    with FakeOpenAIServer() as server:
        server.script(Reply.structured({"n": 2}))
        assert ask(server).method == "json_mode"
        monkeypatch.setenv("LANGMEM_EXT_STRUCTURED_METHOD", "xml")
        with pytest.raises(ValueError, match="LANGMEM_EXT_STRUCTURED_METHOD"):
            ask(server)
