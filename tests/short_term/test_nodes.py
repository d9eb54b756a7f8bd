import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import REMOVE_ALL_MESSAGES, add_messages

from langmem_ext.short_term import (
    SUMMARY_MESSAGE_ID,
    DeletionNode,
    ImportanceFilterNode,
    MessageTokenCounter,
    ShortTermState,
    SummarizationError,
    SummarizationNode,
    TrimNode,
)
from langmem_ext.short_term.nodes import merge_scores
from tests.short_term._conversations import ScriptedChatModel, assert_valid, conversations, is_subsequence

COUNTER = MessageTokenCounter()


def apply(state: dict, update: dict) -> dict:
    """What LangGraph does with a node's update to a ShortTermState."""
    state = dict(state)
    for key, value in update.items():
        if key == "messages":
            state[key] = add_messages(state[key], value)
        elif key == "importance_scores":
            state[key] = merge_scores(state.get(key), value)
        else:
            state[key] = value
    return state


def run(nodes, state):
    for node in nodes:
        state = apply(state, node.invoke(state))
    return state


def chat(n, start=0):
    out = []
    for i in range(start, start + n):
        out += [HumanMessage(f"My note {i}: buy {i} apples on Monday. " * 2, id=f"h{i}"),
                AIMessage(f"Noted {i}.", id=f"a{i}")]
    return out


def test_view_mode_leaves_history_and_rewrite_mode_replaces_it():
    state = {"messages": [SystemMessage("sys", id="s"), *chat(10)]}
    view = TrimNode(max_tokens=80).invoke(state)
    assert set(view) == {"llm_input_messages", "llm_input_source"} and view["llm_input_messages"][0].id == "s"
    rewrite = TrimNode(max_tokens=80, output_messages_key="messages").invoke(state)
    assert isinstance(rewrite["messages"][0], RemoveMessage) and rewrite["messages"][0].id == REMOVE_ALL_MESSAGES
    assert rewrite["messages"][1:] == view["llm_input_messages"]
    after = apply(state, rewrite)
    assert after["messages"] == view["llm_input_messages"]
    assert TrimNode(max_tokens=80, output_messages_key="messages").invoke(after) == {}  # nothing left to do


def test_deletion_node_uses_targeted_removals_and_runtime_ids():
    state = {"messages": [SystemMessage("sys", id="s"), *chat(3)], "delete_message_ids": ["h0"]}
    update = DeletionNode().invoke(state)
    assert [r.id for r in update["messages"]] == ["h0", "a0"]
    assert DeletionNode(keep_last_turns=1).invoke({"messages": state["messages"]})["messages"][-1].id == "a1"
    with pytest.raises(ValueError, match="Say what"):
        DeletionNode(ids_key=None)


def test_summary_node_in_a_checkpointed_graph_updates_within_tool_loops():
    """langmem#118: the running summary must keep up inside one long tool loop."""
    model = ScriptedChatModel()
    summarize = SummarizationNode(model=model, max_tokens=300, keep_tokens=120, max_summary_tokens=60)
    graph = StateGraph(ShortTermState)
    graph.add_node("summarize", summarize)
    graph.add_edge(START, "summarize")
    graph.add_edge("summarize", END)
    app = graph.compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "t"}}
    app.invoke({"messages": [HumanMessage("Find me cheap flights to Lima", id="h")]}, cfg)
    summaries = []
    for i in range(12):  # one user request, many tool rounds
        call = {"name": "search", "args": {"page": i}, "id": f"c{i}"}
        step = [AIMessage("", tool_calls=[call], id=f"a{i}"), ToolMessage(f"flight {i} costs {100 + i} USD " * 8, tool_call_id=f"c{i}", id=f"t{i}")]
        state = app.invoke({"messages": step}, cfg)
        if state.get("running_summary"):
            summaries.append(state["running_summary"]["updates"])
        view = state["llm_input_messages"]
        assert [m.id for m in view[-2:]] == [f"a{i}", f"t{i}"]
        if summaries:
            assert view[0].id == SUMMARY_MESSAGE_ID and view[1].id == "h"  # request kept, summary first
        assert_valid(view)
    assert summaries and summaries[-1] >= 3 and summaries == sorted(summaries)
    assert model.calls == summaries[-1]  # one model call per trigger
    assert "t11" in {m.id for m in view} and len(app.get_state(cfg).values["messages"]) == 25


def test_failed_summary_falls_back_and_the_turn_goes_on():
    graph = StateGraph(ShortTermState)
    graph.add_node("summarize", SummarizationNode(model=ScriptedChatModel(reply="fail"), trigger_tokens=200,
                                                  output_messages_key="messages"))
    graph.add_edge(START, "summarize")
    app = graph.compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "t"}}
    app.invoke({"messages": chat(10)}, cfg)
    values = app.get_state(cfg).values
    assert values["running_summary"]["text"] and "429" not in values["running_summary"]["text"]
    assert all("429" not in str(m.content) for m in values.get("messages", []))


async def test_filter_summarise_trim_chain_runs_async_in_a_graph():
    model = ScriptedChatModel()
    graph = StateGraph(ShortTermState)
    graph.add_node("filter", ImportanceFilterNode(max_tokens=600))
    graph.add_node("summarize", SummarizationNode(model=model, max_tokens=400))  # builds on the filter's output
    graph.add_node("trim", TrimNode(max_tokens=250))
    graph.add_edge(START, "filter")
    graph.add_edge("filter", "summarize")
    graph.add_edge("summarize", "trim")
    app = graph.compile()
    out = await app.ainvoke({"messages": [SystemMessage("sys", id="s"), *chat(20)]})
    assert len(out["messages"]) == 41 and len(out["importance_scores"]) == 40  # the system prompt is never scored
    view = out["llm_input_messages"]
    assert COUNTER(view) <= 250 and view[1].id == SUMMARY_MESSAGE_ID and model.calls == 1
    assert_valid(view)


def test_scores_are_computed_once_per_message():
    calls = []

    def scorer(message):
        calls.append(message.id)
        return 5.0

    node = ImportanceFilterNode(max_tokens=200, scorer=scorer)
    state = run([node], {"messages": chat(3)})
    state = apply(state, {"messages": chat(1, start=3)})
    run([node], state)
    assert calls == [m.id for m in chat(4)]


@settings(max_examples=25, deadline=None)
@given(history=conversations(max_turns=10), budget=st.integers(150, 500),
       order=st.sampled_from(["trim", "filter", "summarize", "filter+summarize+trim", "delete+trim",
                              "summarize+trim", "filter+trim", "delete+filter+summarize+trim"]),
       rewrite=st.booleans())
def test_node_chain_properties(history, budget, order, rewrite):
    out_key = "messages" if rewrite else "llm_input_messages"
    make = {
        "trim": lambda i: TrimNode(max_tokens=budget, allow_partial=True, input_messages_key=i, output_messages_key=out_key),
        "filter": lambda i: ImportanceFilterNode(max_tokens=budget * 2 if "trim" in order else budget,
                                                 relevance="lexical", input_messages_key=i, output_messages_key=out_key),
        "summarize": lambda i: SummarizationNode(max_tokens=budget, keep_tokens=budget // 3, max_summary_tokens=40,
                                                 input_messages_key=i, output_messages_key=out_key),
        "delete": lambda i: DeletionNode(keep_last_turns=3),
    }
    nodes = [make[name]("messages") for name in order.split("+")]  # each builds on the one before by itself
    state = {"messages": history}
    before = copy.deepcopy(history)
    try:
        once = run(nodes, state)
    except Exception as exc:  # only an impossible budget may fail, with the documented error
        assert type(exc).__name__ == "ContextBudgetError"
        return
    assert history == before
    view = once[out_key]
    assert is_subsequence(view, history)
    assert_valid(view)
    if order.endswith("trim") or order == "filter":
        assert COUNTER(view) <= budget
    twice = run(nodes, once)
    assert twice[out_key] == view
