"""A one-node chat graph over a scripted fake model, for fault and load tests.

The model is langchain-core's ``ParrotFakeChatModel`` (it answers with the
last message); the reply gets a fresh id, as real chat models give theirs, and the node
prefixes ``"echo: "`` so every turn adds two distinct
messages and a lost or duplicated message shows up in :func:`expected`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from langchain_core.language_models.fake_chat_models import ParrotFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

__all__ = ["build_graph", "human", "expected", "contents", "config", "reference_checkpoints"]

_MODEL = ParrotFakeChatModel()


def human(thread: str, turn: int) -> HumanMessage:
    return HumanMessage(content=f"{thread} turn {turn}")


def expected(thread: str, turns: int) -> list[str]:
    """The exact message contents after ``turns`` complete turns."""
    out: list[str] = []
    for turn in range(turns):
        out += [f"{thread} turn {turn}", f"echo: {thread} turn {turn}"]
    return out


def contents(messages: list[BaseMessage]) -> list[str]:
    return [str(m.content) for m in messages]


def config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def build_graph(checkpointer: Any, *, before_reply: Callable[[MessagesState], None] | None = None) -> Any:
    """Compile ``START -> chat`` with ``checkpointer``.

    Args:
        checkpointer: any LangGraph checkpointer.
        before_reply: called inside the node before the model answers (a place
            to inject a crash mid-turn).
    """

    def chat(state: MessagesState) -> dict[str, list[BaseMessage]]:
        if before_reply is not None:
            before_reply(state)
        reply = _MODEL.invoke(state["messages"][-1:])
        return {"messages": [AIMessage(content=f"echo: {reply.content}", id=f"ai-{uuid.uuid4()}")]}

    async def achat(state: MessagesState) -> dict[str, list[BaseMessage]]:
        if before_reply is not None:
            before_reply(state)
        reply = await _MODEL.ainvoke(state["messages"][-1:])
        return {"messages": [AIMessage(content=f"echo: {reply.content}", id=f"ai-{uuid.uuid4()}")]}

    from langchain_core.runnables import RunnableLambda

    builder = StateGraph(MessagesState)
    builder.add_node("chat", RunnableLambda(chat, afunc=achat))
    builder.add_edge(START, "chat")
    return builder.compile(checkpointer=checkpointer)


def reference_checkpoints(turns: int) -> int:
    """How many checkpoints ``turns`` turns write, counted with LangGraph's InMemorySaver."""
    from langgraph.checkpoint.memory import InMemorySaver

    graph = build_graph(InMemorySaver())
    for turn in range(turns):
        graph.invoke({"messages": [human("ref", turn)]}, config("ref"))
    return len(list(graph.get_state_history(config("ref"))))
