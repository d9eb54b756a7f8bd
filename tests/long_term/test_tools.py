from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from langmem_ext.long_term import from_value
from langmem_ext.long_term.namespaces import NamespaceTemplateError
from langmem_ext.long_term.testing import ScriptedChatModel
from langmem_ext.long_term.tools import create_manage_memory_tool, create_search_memory_tool, is_near_duplicate

CONFIG = {"configurable": {"user_id": "u1"}}
SEM = ("memories", "u1", "semantic")


def _ids(store):
    return [i.key for i in store.search(SEM, limit=50)]


def test_create_update_delete(store):
    manage = create_manage_memory_tool(store=store)
    out = manage.invoke({"action": "create", "memory": {"content": "User drives a Fiat"}}, CONFIG)
    [key] = _ids(store)
    assert key in out
    out = manage.invoke({"action": "update", "id": key, "memory": {"content": "User drives a Tesla"}}, CONFIG)
    assert out.startswith("Updated")
    m = from_value(store.get(SEM, key).value)
    assert m.content == "User drives a Tesla" and m.history[-1].old == "User drives a Fiat"
    assert manage.invoke({"action": "delete", "id": key}, CONFIG).startswith("Deleted")
    assert _ids(store) == []


def test_errors_are_explained_and_change_nothing(store):
    manage = create_manage_memory_tool(store=store, actions=("create", "update"))
    assert "needs the id" in manage.invoke({"action": "update", "memory": {"content": "x"}}, CONFIG)
    assert "no memory with id" in manage.invoke({"action": "update", "id": "nope", "memory": {"content": "x"}}, CONFIG)
    with pytest.raises(Exception):
        manage.invoke({"action": "delete", "id": "x"}, CONFIG)  # not a permitted action: schema rejects it
    with pytest.raises(NamespaceTemplateError, match="user_id"):
        manage.invoke({"action": "create", "memory": {"content": "x"}}, {"configurable": {}})
    assert _ids(store) == []
    with pytest.raises(ValueError, match="allow_procedural"):
        create_manage_memory_tool(kind="procedural")


def test_near_duplicates_suppressed(store):
    manage = create_manage_memory_tool(store=store, duplicate_threshold=0.7)
    manage.invoke({"action": "create", "memory": {"content": "User likes green tea"}}, CONFIG)
    out = manage.invoke({"action": "create", "memory": {"content": "The user likes green tea a lot"}}, CONFIG)
    assert out.startswith("Not stored") and len(_ids(store)) == 1
    manage.invoke({"action": "create", "memory": {"content": "User owns two bicycles"}}, CONFIG)
    assert len(_ids(store)) == 2


def test_is_near_duplicate():
    assert is_near_duplicate("User likes tea.", "user likes tea", score=None, threshold=0.9)
    assert not is_near_duplicate("User likes tea", "User hates coffee", score=0.5, threshold=0.9)
    assert is_near_duplicate("a", "b", score=0.95, threshold=0.9)


async def test_agent_loop_uses_graph_store(store):
    manage, search = create_manage_memory_tool(), create_search_memory_tool()
    model = ScriptedChatModel(responses=[
        AIMessage("", tool_calls=[{"name": "manage_memory", "id": "c1",
                                   "args": {"action": "create", "memory": {"content": "User's cat is Mia"}}}]),
        AIMessage("", tool_calls=[{"name": "search_memory", "id": "c2", "args": {"query": "cat"}}]),
        AIMessage("Your cat is Mia."),
    ])
    bound = model.bind_tools([manage, search])

    def agent(state):
        return {"messages": [bound.invoke(state["messages"])]}

    b = StateGraph(MessagesState)
    b.add_node("agent", agent)
    b.add_node("tools", ToolNode([manage, search]))
    b.add_edge(START, "agent")
    b.add_conditional_edges("agent", tools_condition)
    b.add_edge("tools", "agent")
    app = b.compile(store=store)
    state = await app.ainvoke({"messages": [HumanMessage("Remember my cat is Mia")]}, CONFIG)
    tool_out = [m.content for m in state["messages"] if isinstance(m, ToolMessage)]
    assert tool_out[0].startswith("Created") and '"User\'s cat is Mia"' in tool_out[1]
    assert [from_value(i.value).content for i in store.search(SEM)] == ["User's cat is Mia"]
