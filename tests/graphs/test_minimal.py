from __future__ import annotations

from langchain_core.messages import HumanMessage

from langmem_ext.graphs import minimal
from langmem_ext.models import OfflineResponder


def test_two_nodes_give_an_existing_graph_memory(backends) -> None:
    saver, store = backends
    graph = minimal.build_graph(checkpointer=saver, store=store, model=OfflineResponder())
    graph.invoke({"messages": [HumanMessage("I live in Oslo.")]}, {"configurable": {"thread_id": "1", "user_id": "sam"}})
    assert graph.nodes["reflect"].bound.flush(timeout=60) == 1
    state = graph.invoke({"messages": [HumanMessage("Where do I live?")]}, {"configurable": {"thread_id": "2", "user_id": "sam"}})
    assert [m.type for m in state["messages"]] == ["human", "ai"]  # the thread holds only what was said
    assert "Oslo" in state["messages"][-1].content  # the model saw the memory (model_input)
    graph.nodes["reflect"].bound.flush(timeout=60)
    assert minimal.graph.checkpointer is None
