from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langmem_ext.graphs import chatbot
from langmem_ext.models import OfflineResponder
from langmem_ext.short_term import MessageTokenCounter


class RecordingModel(BaseChatModel):
    """Answers with a fixed-size reply and keeps every input it was given."""

    inputs: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        self.inputs.append(list(messages))
        reply = f"Reply {len(self.inputs)}: " + "that is interesting, tell me more about it " * 3
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply))])


def cfg(thread: str, user: str = "tester") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "user_id": user}}


def test_model_input_stays_within_budget_while_history_grows(backends) -> None:
    saver, store = backends
    model = RecordingModel(inputs=[])
    graph = chatbot.build_graph(checkpointer=saver, store=store, model=model, context_budget=300)
    for i in range(10):
        state = graph.invoke({"messages": [HumanMessage(f"Turn {i}: my cousin number {i} lives in town {i} and likes sport {i}.")]}, cfg("t1"))
    counter = MessageTokenCounter(tokenizer_model="gpt-4o-mini")
    assert len(state["messages"]) == 20  # the checkpointer keeps the whole thread
    assert counter(state["messages"]) > 1.5 * 300  # ... well beyond the budget
    assert all(counter(seen) <= 300 for seen in model.inputs)
    assert state["context_tokens"] == counter(model.inputs[-1])
    assert "Turn 9" in model.inputs[-1][-1].content  # the newest turn always reaches the model
    assert state["running_summary"]["text"]  # older turns were folded into the summary
    chatbot.wait_for_reflection(graph)


def test_what_one_thread_taught_is_recalled_in_another(backends) -> None:
    saver, store = backends
    graph = chatbot.build_graph(checkpointer=saver, store=store, model=OfflineResponder())
    graph.invoke({"messages": [HumanMessage("I live in Porto and I have a dog called Pixel.")]}, cfg("a", "maya"))
    chatbot.wait_for_reflection(graph)
    assert any("Porto" in i.value.get("content", "") for i in store.search(("memories", "maya", "semantic")))
    state = graph.invoke({"messages": [HumanMessage("Where do I live?")]}, cfg("b", "maya"))
    assert "Porto" in chatbot.recalled_block(state)
    assert "Porto" in state["messages"][-1].content
    assert len(state["messages"]) == 2  # thread b starts empty: the fact came from the store
    other = graph.invoke({"messages": [HumanMessage("Where do I live?")]}, cfg("c", "someone-else"))
    assert "Porto" not in other["messages"][-1].content  # memories are per user
    chatbot.wait_for_reflection(graph)


async def test_async_invocation_on_async_backends(abackends) -> None:
    saver, store = abackends
    graph = chatbot.build_graph(checkpointer=saver, store=store, model=OfflineResponder())
    await graph.ainvoke({"messages": [HumanMessage("I work as a marine biologist.")]}, cfg("x", "ana"))
    await asyncio.wait_for(chatbot.await_reflection(graph), timeout=60)
    found = await store.asearch(("memories", "ana", "semantic"), query="job")
    assert any("biologist" in i.value["content"] for i in found)
    state = await graph.ainvoke({"messages": [HumanMessage("What work do I do?")]}, cfg("y", "ana"))
    assert "biologist" in state["messages"][-1].content
    await chatbot.await_reflection(graph)


def test_studio_graph_is_compiled_without_backends() -> None:
    assert chatbot.graph.checkpointer is None and chatbot.graph.store is None
    assert list(chatbot.graph.get_graph().nodes) == [
        "__start__", "summarize", "filter", "recall", "trim", "respond", "reflect", "__end__"
    ]  # fmt: skip


def test_a_budget_too_small_is_refused_early() -> None:
    with pytest.raises(ValueError, match="at least 200"):
        chatbot.build_graph(context_budget=50)
