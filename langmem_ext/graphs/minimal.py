"""``minimal``: the smallest way to add long-term memory to a graph you already have.

Your graph had one node calling a model. Two nodes around it add memory:
``RecallNode`` puts what is known about the user in front of the model, and
``ReflectionNode`` (in the background) stores what the conversation taught.
The model node reads :func:`langmem_ext.model_input` instead of ``state["messages"]``;
the user is named in the run config (``user_id``) or the runtime context.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, MessagesState, StateGraph

from langmem_ext.contract import model_input
from langmem_ext.long_term import RecallNode, ReflectionNode

from langmem_ext.graphs.common import models

__all__ = ["build_graph", "graph"]


def build_graph(*, checkpointer: Any = None, store: Any = None, model: Any = None, memory_model: Any = None) -> Any:
    """Compile the minimal graph (arguments as in :func:`langmem_ext.graphs.chatbot.build_graph`)."""
    chat = model if model is not None else models().chat
    memory = memory_model if memory_model is not None else (models().memory if model is None else None)

    def call_model(state: MessagesState) -> dict[str, Any]:  # your existing node, reading model_input(state)
        return {"messages": [chat.invoke(model_input(state))]}

    builder = StateGraph(MessagesState)
    builder.add_node("recall", RecallNode())  # + memory
    builder.add_node("model", call_model)
    builder.add_node("reflect", ReflectionNode(model=memory, background=True, delay=1.0))  # + memory
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "model")
    builder.add_edge("model", "reflect")
    builder.add_edge("reflect", END)
    return builder.compile(checkpointer=checkpointer, store=store, name="minimal")


graph = build_graph()
"""For ``langgraph dev`` / Studio: no checkpointer or store (the server injects its own)."""


if __name__ == "__main__":  # pragma: no cover
    from langchain_core.messages import HumanMessage

    from langmem_ext.graphs.common import redis_backends, thread_config

    with redis_backends() as (saver, store):
        minimal = build_graph(checkpointer=saver, store=store)
        minimal.invoke({"messages": [HumanMessage("I live in Oslo.")]}, thread_config("minimal-1"))
        minimal.nodes["reflect"].bound.executor.flush()
        answer = minimal.invoke({"messages": [HumanMessage("Where do I live?")]}, thread_config("minimal-2"))
        print(answer["messages"][-1].content)
