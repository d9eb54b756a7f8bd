import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langmem_ext.short_term import ContextBudgetError, MessageTokenCounter, trim_history
from tests.short_term._conversations import assert_valid, conversations, is_subsequence

COUNTER = MessageTokenCounter(tokenizer_model="gpt-4o-mini")


def tool_loop():
    calls = [{"name": "weather", "args": {"city": c}, "id": f"c{c}"} for c in ("paris", "rome", "oslo")]
    return [
        SystemMessage("You are helpful.", id="s"),
        HumanMessage("What's the weather in three cities? " * 3, id="h1"),
        AIMessage("", tool_calls=calls, id="a1"),
        ToolMessage("sunny " * 30, tool_call_id="crome", id="t2"),
        ToolMessage("rain " * 30, tool_call_id="cparis", id="t1"),
        ToolMessage("snow " * 30, tool_call_id="coslo", id="t3"),
        AIMessage("Paris rain, Rome sun, Oslo snow.", id="a2"),
    ]


def test_keeps_system_and_the_newest_whole_turns():
    history = [SystemMessage("sys", id="s")]
    for i in range(6):
        history += [HumanMessage(f"q{i} " * 10, id=f"h{i}"), AIMessage(f"a{i} " * 10, id=f"a{i}")]
    out = trim_history(history, max_tokens=100, token_counter=COUNTER)
    assert out[0].id == "s" and out[1].type == "human"
    assert [m.id for m in out[1:]] == [m.id for m in history[-len(out) + 1 :]]
    assert COUNTER(out) <= 100 < COUNTER(out[:1] + history[-len(out) - 1 :])  # one more turn would not fit


def test_parallel_tool_group_is_kept_or_dropped_whole():
    history = tool_loop()
    for budget in range(30, COUNTER(history) + 5, 7):
        try:
            out = trim_history(history, max_tokens=budget, token_counter=COUNTER)
        except ContextBudgetError:
            continue
        ids = {m.id for m in out}
        assert {"a1", "t1", "t2", "t3"} <= ids or not ({"a1", "t1", "t2", "t3"} & ids)
        assert_valid(out)


def test_latest_human_message_survives_a_long_tool_loop():
    """langmem#111: inside a tool loop the user's request must stay in the model input."""
    history = [SystemMessage("sys", id="s"), HumanMessage("Book me a flight to Lima", id="h")]
    for i in range(20):
        call = {"name": "search", "args": {"page": i}, "id": f"c{i}"}
        history += [AIMessage("", tool_calls=[call], id=f"a{i}"), ToolMessage("result " * 40, tool_call_id=f"c{i}", id=f"t{i}")]
    out = trim_history(history, max_tokens=300, token_counter=COUNTER)
    assert [m.id for m in out[:2]] == ["s", "h"]
    assert out[-1].id == "t19" and COUNTER(out) <= 300
    assert_valid(out)


def test_never_starts_on_an_orphan_tool_message():
    """langchain#33245: strategy='last' could start on a ToolMessage whose call was cut."""
    history = tool_loop() + [HumanMessage("thanks", id="h2")]
    for budget in range(20, 400, 5):
        try:
            out = trim_history(history, max_tokens=budget, token_counter=COUNTER)
        except ContextBudgetError:
            continue
        assert all(m.type != "tool" for m in out) or "a1" in {m.id for m in out}
        assert_valid(out)


def test_oversized_latest_message_raises_or_is_cut_with_allow_partial():
    history = [SystemMessage("sys", id="s"), HumanMessage("word " * 500, id="h")]
    before = copy.deepcopy(history)
    with pytest.raises(ContextBudgetError, match="allow_partial"):
        trim_history(history, max_tokens=100, token_counter=COUNTER)
    out = trim_history(history, max_tokens=100, token_counter=COUNTER, allow_partial=True)
    assert out[1].id == "h" and 0 < len(out[1].content) < len(history[1].content)
    assert COUNTER(out) <= 100
    assert history == before


def test_system_prompt_over_budget_is_a_clear_error():
    with pytest.raises(ContextBudgetError, match="system messages"):
        trim_history([SystemMessage("x " * 200), HumanMessage("hi")], max_tokens=50)
    with pytest.raises(ValueError, match="max_tokens"):
        trim_history([HumanMessage("hi")], max_tokens=0)


def test_orphan_tool_messages_in_the_input_are_dropped():
    history = [HumanMessage("q", id="h"), ToolMessage("stray", tool_call_id="nope", id="t"), AIMessage("a", id="a")]
    assert [m.id for m in trim_history(history, max_tokens=1000)] == ["h", "a"]


@settings(max_examples=60, deadline=None)
@given(history=conversations(), budget=st.integers(40, 600))
def test_trim_properties(history, budget):
    before = copy.deepcopy(history)
    try:
        out = trim_history(history, max_tokens=budget, token_counter=COUNTER)
    except ContextBudgetError:
        last_human = [m for m in history if m.type == "human"][-1]
        head = [m for m in history if m.type == "system"]
        assert COUNTER([*head, last_human]) > budget
        return
    assert history == before
    assert COUNTER(out) <= budget
    assert is_subsequence(out, history)
    assert_valid(out)
    assert trim_history(out, max_tokens=budget, token_counter=COUNTER) == out


def test_allow_partial_works_with_a_passed_in_counter():
    def words(messages):
        return sum(len(str(m.content).split()) + 1 for m in messages)

    history = [HumanMessage("one two three four five six seven eight", id="h")]
    out = trim_history(history, max_tokens=5, token_counter=words, allow_partial=True)
    assert out[0].content == "one two three four"
