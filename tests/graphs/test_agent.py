from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langmem_ext.graphs import agent
from langmem_ext.long_term import ProceduralMemory, put_memories
from langmem_ext.long_term.testing import ScriptedChatModel
from langmem_ext.models import OfflineResponder


def cfg(thread: str, user: str = "tester") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "user_id": user}}


def _settle(graph: Any) -> None:
    """Let the background (procedural) reflection finish before the database is flushed."""
    graph.nodes["reflect"].bound.executor.flush(timeout=60)


def _call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}])


def test_the_agent_saves_with_one_tool_and_finds_with_the_other(backends) -> None:
    saver, store = backends
    model = ScriptedChatModel(responses=[
        _call("manage_memory", {"action": "create", "memory": {"content": "User is a nurse in Leeds"}}, "c1"),
        "Saved that you are a nurse.",
        _call("search_memory", {"query": "user's job"}, "c2"),
        "You are a nurse in Leeds.",
    ])  # fmt: skip
    graph = agent.build_graph(checkpointer=saver, store=store, model=model)
    graph.invoke({"messages": [HumanMessage("I am a nurse in Leeds.")]}, cfg("one", "kim"))
    assert [i.value["content"] for i in store.search(("memories", "kim", "semantic"))] == ["User is a nurse in Leeds"]
    state = graph.invoke({"messages": [HumanMessage("What is my job?")]}, cfg("two", "kim"))
    tool_result = next(m for m in state["messages"] if isinstance(m, ToolMessage))
    assert "nurse in Leeds" in tool_result.content  # found in the store, from a new thread
    assert state["messages"][-1].content == "You are a nurse in Leeds."
    assert [type(m).__name__ for m in state["messages"]] == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    _settle(graph)


def test_the_users_rules_are_in_the_system_prompt(backends) -> None:
    saver, store = backends
    put_memories(store, ("memories", "kim", "procedural"), [ProceduralMemory(rule="Always answer in French")])
    model = ScriptedChatModel(responses=["Bonjour !", "Hello!"])
    graph = agent.build_graph(checkpointer=saver, store=store, model=model)
    graph.invoke({"messages": [HumanMessage("Hi")]}, cfg("r", "kim"))
    system = model.calls[0][0]
    assert system.type == "system" and "Always answer in French" in system.content
    graph.invoke({"messages": [HumanMessage("Hi")]}, cfg("s", "lee"))
    assert "French" not in model.calls[1][0].content  # another user's rules stay theirs
    _settle(graph)


def test_offline_agent_uses_its_tools(backends) -> None:
    saver, store = backends
    graph = agent.build_graph(checkpointer=saver, store=store, model=OfflineResponder())
    graph.invoke({"messages": [HumanMessage("I play the violin.")]}, cfg("a", "ola"))
    state = graph.invoke({"messages": [HumanMessage("Which instrument do I play?")]}, cfg("b", "ola"))
    assert "violin" in state["messages"][-1].content
    _settle(graph)
    assert agent.graph.checkpointer is None and agent.graph.store is None
