from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage

from langmem_ext.graphs import minimal
from langmem_ext.long_term import MEMORY_BLOCK_ID
from langmem_ext.models import OfflineResponder


def test_two_nodes_give_an_existing_graph_memory(backends) -> None:
    saver, store = backends
    graph = minimal.build_graph(checkpointer=saver, store=store, model=OfflineResponder())
    graph.invoke({"messages": [HumanMessage("I live in Oslo.")]}, {"configurable": {"thread_id": "1", "user_id": "sam"}})
    graph.nodes["reflect"].bound.executor.flush(timeout=60)
    state = graph.invoke({"messages": [HumanMessage("Where do I live?")]}, {"configurable": {"thread_id": "2", "user_id": "sam"}})
    block = [m for m in state["messages"] if isinstance(m, SystemMessage) and m.id == MEMORY_BLOCK_ID]
    assert len(block) == 1 and "Oslo" in block[0].content
    assert "Oslo" in state["messages"][-1].content
    graph.nodes["reflect"].bound.executor.flush(timeout=60)
    assert minimal.graph.checkpointer is None
