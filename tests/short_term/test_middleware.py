import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from langmem_ext.short_term import SUMMARY_MESSAGE_ID, MessageTokenCounter
from langmem_ext.short_term.middleware import (
    DeletionMiddleware,
    ImportanceFilterMiddleware,
    SummaryMiddleware,
    TrimMiddleware,
)
from tests.short_term._conversations import ToolLoopModel, assert_valid

COUNTER = MessageTokenCounter()


@tool
def lookup(city: str) -> str:
    """Weather for a city."""
    return f"The weather in {city} is mild with light wind and some clouds " * 6


def script(rounds: int) -> list[AIMessage]:
    out = []
    for r in range(rounds):
        out.append(AIMessage("", tool_calls=[{"name": "lookup", "args": {"city": f"city{r}{k}"}, "id": f"c{r}{k}"}
                                             for k in range(2)]))
    return out + [AIMessage("All done.")]


def test_summary_and_trim_middleware_keep_every_model_input_valid():
    model = ToolLoopModel(script=script(8), seen=[])
    agent = create_agent(model, tools=[lookup], system_prompt="You are a weather bot.",
                         middleware=[SummaryMiddleware(max_tokens=500, keep_tokens=200), TrimMiddleware(max_tokens=450)],
                         checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "1"}}
    state = agent.invoke({"messages": [HumanMessage("Weather in sixteen cities please")]}, cfg)
    assert state["messages"][-1].content == "All done."
    assert len(state["messages"]) == 1 + 8 * 3 + 1  # history untouched (view mode)
    assert state["running_summary"]["updates"] >= 1
    for seen in model.seen:
        assert COUNTER(seen) <= 450
        assert_valid(seen)
        assert any(m.type == "human" and "sixteen" in m.content for m in seen)  # langmem#111
    assert any(m.id == SUMMARY_MESSAGE_ID for m in model.seen[-1])


async def test_rewrite_history_and_deletion_async():
    model = ToolLoopModel(script=script(6), seen=[])
    agent = create_agent(model, tools=[lookup],
                         middleware=[SummaryMiddleware(max_tokens=400, rewrite_history=True)])
    state = await agent.ainvoke({"messages": [HumanMessage("Weather please")]})
    ids = [m.id for m in state["messages"]]
    assert ids.count(SUMMARY_MESSAGE_ID) == 1 and len(ids) < 1 + 6 * 3 + 1
    assert_valid(state["messages"])

    model = ToolLoopModel(script=[AIMessage("ok")], seen=[])
    agent = create_agent(model, middleware=[DeletionMiddleware(keep_last_turns=1)], checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "d"}}
    for text in ("one", "two", "three"):
        state = await agent.ainvoke({"messages": [HumanMessage(text)]}, cfg)
    assert [m.content for m in state["messages"]] == ["three", "ok"]


def test_importance_filter_middleware_scores_once_and_fits_budget():
    calls = []

    def scorer(message):
        calls.append(message.content)
        return 9.0 if "allergic" in str(message.content) else 2.0

    model = ToolLoopModel(script=[AIMessage("noted " * 10)], seen=[])
    agent = create_agent(model, middleware=[ImportanceFilterMiddleware(max_tokens=120, scorer=scorer, keep_last_turns=1)],
                         checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "i"}}
    texts = ["I am allergic to cats."] + [f"chatter {i} " * 5 for i in range(6)]
    for text in texts:
        agent.invoke({"messages": [HumanMessage(text)]}, cfg)
    assert len(calls) == 2 * len(texts) - 1  # every message scored exactly once (the last reply not yet)
    assert all(calls.count(text) == 1 for text in texts)
    last_input = model.seen[-1]
    assert "allergic" in last_input[0].content and COUNTER(last_input) <= 120


def test_middleware_options_are_checked_at_construction():
    with pytest.raises(ValueError, match="trigger"):
        SummaryMiddleware()
    with pytest.raises(ValueError, match="keep_tokens"):
        SummaryMiddleware(max_tokens=100, keep_tokens=100)
    with pytest.raises(ValueError, match="embed"):
        ImportanceFilterMiddleware(max_tokens=100, relevance="embedding")
    with pytest.raises(ValueError, match="Say what"):
        DeletionMiddleware()
