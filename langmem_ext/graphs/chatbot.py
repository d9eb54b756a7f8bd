"""``chatbot``: every memory layer in one graph.

::

    START -> summarize -> filter -> recall -> trim -> respond -> reflect -> END

* ``summarize`` (SummarizationNode): older turns are folded into a running summary.
* ``filter`` (ImportanceFilterNode): of what is left, the important turns fill the budget.
* ``recall`` (RecallNode): memories of this user from every earlier thread, as a
  system block.
* ``trim`` (TrimNode): the last node before the model, so its budget holds for the whole
  model input (the system prompt, counted out of ``context_budget``, the memory block,
  the summary and the turns).
* ``respond``: the chat model answers from :func:`langmem_ext.model_input` (the offline
  responder when no model is configured) through :func:`langmem_ext.llm.reply.reply`:
  bounded, sized to the model's window, and answered offline if the model fails; the
  tokens it saw are recorded in ``context_tokens``.
* ``reflect`` (ReflectionNode, in the background): new facts, episodes and rules go to
  the store for the next thread.

Each node builds on what the one before prepared this turn (the node contract,
:mod:`langmem_ext.contract`); the thread's ``messages`` hold only what was said.
The checkpointer keeps the thread (messages, running summary, scores); the store keeps
memories across threads under ``("memories", user_id, kind)``.

Run directly (``python -m langmem_ext.graphs.chatbot``, or ``python graphs/chatbot.py`` in a
checkout) it compiles with our RedisSaver and RedisStore on ``$REDIS_URL`` (or an embedded
Redis) and chats on two threads.
"""

from __future__ import annotations

import weakref
from typing import Any

from langchain_core.messages import AnyMessage, SystemMessage
from langgraph.graph import END, START, StateGraph

from langmem_ext.contract import model_input
from langmem_ext.llm.reply import areply, reply, sized_budget
from langmem_ext.long_term import MEMORY_BLOCK_ID, RecallNode, ReflectionNode
from langmem_ext.short_term import (
    ImportanceFilterNode,
    MessageTokenCounter,
    ShortTermState,
    SummarizationNode,
    TrimNode,
)

from langmem_ext.graphs.common import models

__all__ = ["ChatbotState", "DEFAULT_CONTEXT_BUDGET", "build_graph", "graph", "await_reflection", "recalled_block", "wait_for_reflection"]

DEFAULT_CONTEXT_BUDGET = 2000
"""Tokens of model input (system prompt, summary, memories and recent turns)."""

SYSTEM_PROMPT = "You are a helpful assistant with a long-term memory of this user."

_REFLECTORS: weakref.WeakKeyDictionary[Any, ReflectionNode] = weakref.WeakKeyDictionary()


class ChatbotState(ShortTermState):
    """The thread's state: the short-term keys plus the size of the last model input."""

    context_tokens: int


def recalled_block(state: dict[str, Any]) -> str:
    """The memory block recall put in front of the model this turn ('' if none)."""
    for message in state.get("llm_input_messages") or []:
        if getattr(message, "id", None) == MEMORY_BLOCK_ID:
            return str(message.content)
    return ""


def build_graph(
    *,
    checkpointer: Any = None,
    store: Any = None,
    model: Any = None,
    memory_model: Any = None,
    context_budget: int = DEFAULT_CONTEXT_BUDGET,
    reflection_delay: float = 1.0,
) -> Any:
    """Compile the chatbot.

    Args:
        checkpointer: where threads are kept (e.g. ``RedisSaver``); ``None`` for LangGraph's server.
        store: where memories are kept (e.g. ``RedisStore`` with a vector index); ``None``
            uses the store the runtime provides.
        model: the chat model; default from the environment (``langmem_ext.graphs.common.models``).
        memory_model: the model for summaries and reflection; default from the environment
            (``None`` there means the offline strategies).
        context_budget: tokens of model input.
        reflection_delay: seconds of quiet before background reflection runs.
    """
    if context_budget < 200:
        raise ValueError(f"context_budget={context_budget} leaves no room for a conversation; use at least 200.")
    configured = models()
    chat = model if model is not None else configured.chat
    memory = memory_model if memory_model is not None else (configured.memory if model is None else None)
    counter = MessageTokenCounter(tokenizer_model="gpt-4o-mini")
    context_budget = sized_budget(chat, context_budget)
    reflect = ReflectionNode(model=memory, background=True, delay=reflection_delay)
    prompt_tokens = counter.count_message(SystemMessage(SYSTEM_PROMPT))  # added by respond: out of the budget

    def context_of(state: ChatbotState) -> list[AnyMessage]:
        return model_input(state, SYSTEM_PROMPT)

    def respond(state: ChatbotState) -> dict[str, Any]:
        context = context_of(state)
        return {"messages": [reply(chat, context)], "context_tokens": counter(context)}

    async def arespond(state: ChatbotState) -> dict[str, Any]:
        context = context_of(state)
        return {"messages": [await areply(chat, context)], "context_tokens": counter(context)}

    from langchain_core.runnables import RunnableLambda

    builder = StateGraph(ChatbotState)
    builder.add_node(
        "summarize",
        SummarizationNode(
            model=memory,
            max_tokens=int(context_budget * 0.55),
            keep_tokens=int(context_budget * 0.3),
            max_summary_tokens=max(64, context_budget // 5),
        ),
    )
    builder.add_node(
        "filter",
        ImportanceFilterNode(
            max_tokens=int(context_budget * 0.7),
            relevance="lexical",
        ),
    )
    builder.add_node(
        "recall",
        RecallNode(
            max_tokens=max(60, int(context_budget * 0.25)),
            quotas={"semantic": 5, "episodic": 2},
        ),
    )
    builder.add_node("trim", TrimNode(max_tokens=context_budget - prompt_tokens))
    builder.add_node("respond", RunnableLambda(respond, afunc=arespond, name="respond"))
    builder.add_node("reflect", reflect)
    builder.add_edge(START, "summarize")
    builder.add_edge("summarize", "filter")
    builder.add_edge("filter", "recall")
    builder.add_edge("recall", "trim")
    builder.add_edge("trim", "respond")
    builder.add_edge("respond", "reflect")
    builder.add_edge("reflect", END)
    compiled = builder.compile(checkpointer=checkpointer, store=store, name="chatbot")
    _REFLECTORS[compiled] = reflect
    return compiled


def wait_for_reflection(compiled: Any, *, timeout: float = 60.0) -> None:
    """Run any pending background reflection of ``compiled`` now and wait for it (sync runs).

    The same as ``ReflectionNode.flush()`` on the graph's reflection node.
    """
    node = _REFLECTORS.get(compiled)
    if node is not None:
        node.flush(timeout=timeout)


async def await_reflection(compiled: Any) -> None:
    """The async twin of :func:`wait_for_reflection` (``ReflectionNode.aflush()``), for ``ainvoke``."""
    node = _REFLECTORS.get(compiled)
    if node is not None:
        await node.aflush()


graph = build_graph()
"""For ``langgraph dev`` / Studio: no checkpointer or store (the server injects its own)."""


def _main() -> None:  # pragma: no cover - exercised by tests/graphs via subprocess
    from langchain_core.messages import HumanMessage

    from langmem_ext.graphs.common import redis_backends, thread_config

    print(models().description)
    with redis_backends() as (saver, store):
        chatbot = build_graph(checkpointer=saver, store=store)
        first = thread_config("chatbot-example-1", user_id="example-user")
        for text in ("Hi, I'm Sam and I live in Oslo.", "I am allergic to peanuts."):
            print("you:", text)
            print("bot:", chatbot.invoke({"messages": [HumanMessage(text)]}, first)["messages"][-1].content)
        wait_for_reflection(chatbot)
        second = thread_config("chatbot-example-2", user_id="example-user")
        question = "What am I allergic to?"
        print("you (new thread):", question)
        print("bot:", chatbot.invoke({"messages": [HumanMessage(question)]}, second)["messages"][-1].content)


if __name__ == "__main__":
    _main()
