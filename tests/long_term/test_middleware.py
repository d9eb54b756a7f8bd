"""RecallMiddleware and ReflectionMiddleware: long-term memory for create_agent, sync and async."""

from __future__ import annotations

from dataclasses import dataclass

from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langgraph.store.memory import InMemoryStore

from langmem_ext.long_term import RecallMiddleware, ReflectionMiddleware
from langmem_ext.long_term.testing import HASH_DIMS, ScriptedChatModel, hash_embed
from langmem_ext.short_term import MessageTokenCounter, TrimMiddleware


def _store() -> InMemoryStore:
    return InMemoryStore(index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]})


@dataclass
class Context:
    user_id: str


def test_recall_before_trim_counts_the_memory_block_in_the_budget() -> None:
    store, counter = _store(), MessageTokenCounter()
    model = ScriptedChatModel(responses=["ok"] * 3)
    reflect = ReflectionMiddleware(model=None)
    agent = create_agent(model, system_prompt="Be brief.", store=store, context_schema=Context,
                         middleware=[RecallMiddleware(reinforce="off"), TrimMiddleware(max_tokens=200), reflect])
    agent.invoke({"messages": [HumanMessage("I am allergic to peanuts.")]}, {"configurable": {"thread_id": "1"}},
                 context=Context("ctx"))
    assert reflect.flush() == 1  # the user came from the runtime context
    long_history = [HumanMessage(f"Question {i}: " + "tell me more about the weather " * 8) for i in range(6)]
    agent.invoke({"messages": [*long_history, HumanMessage("What am I allergic to?")]},
                 {"configurable": {"thread_id": "2"}}, context=Context("ctx"))
    seen = model.calls[-1]
    assert seen[0].type == "system" and seen[0].content.startswith("Be brief.") and "peanuts" in seen[0].content
    assert seen[-1].content == "What am I allergic to?" and counter(seen) <= 200  # the block is counted
    assert all(m.type == "human" for m in seen[1:]) and len(seen) < 8  # ... and the history trimmed to fit
    reflect.flush()


async def test_async_agent_recalls_and_reflects_in_the_background() -> None:
    store = _store()
    model = ScriptedChatModel(responses=["ok", "ok"])
    reflect = ReflectionMiddleware(model=None)
    agent = create_agent(model, store=store, middleware=[RecallMiddleware(), reflect])
    user = {"configurable": {"user_id": "u", "thread_id": "a"}}
    await agent.ainvoke({"messages": [HumanMessage("I live in Porto.")]}, user)
    assert await reflect.aflush() == 1
    assert [i.value["content"] for i in await store.asearch(("memories", "u", "semantic"))] == ["User lives in Porto"]
    state = await agent.ainvoke({"messages": [HumanMessage("Where do I live?")]},
                                {"configurable": {"user_id": "u", "thread_id": "b"}})
    assert "Porto" in model.calls[-1][0].content and len(state["messages"]) == 2  # nothing added to the thread
    await reflect.aflush()
