"""``agent``: a ReAct-style agent that manages its own memory with tools.

::

    START -> trim -> agent <-> tools
                      |
                      v
                   reflect -> END

* ``trim`` (TrimNode): the model sees at most ``context_budget`` tokens of the thread.
* ``agent``: the chat model with two tools, ``manage_memory`` (create / update / delete
  a fact about the user) and ``search_memory``; its system prompt carries the user's
  procedural rules (what they asked the assistant to always / never do).
* ``tools`` (LangGraph's ToolNode): runs the tool calls against the graph's store.
* ``reflect`` (ReflectionNode, procedural only, in the background): rules come from
  the user's own feedback, never from the agent's tool calls.

Memories live under ``("memories", user_id, kind)``, so the ``chatbot`` and the ``agent``
share what they know about a user.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AnyMessage, SystemMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from langmem_ext.long_term import (
    ReflectionNode,
    aload_rules,
    create_manage_memory_tool,
    create_search_memory_tool,
    load_rules,
    render_rules,
)
from langmem_ext.contract import model_input
from langmem_ext.llm.reply import areply, reply, sized_budget
from langmem_ext.short_term import ShortTermState, TrimNode

from langmem_ext.graphs.common import models

__all__ = ["AGENT_PROMPT", "build_graph", "graph", "system_prompt"]

AGENT_PROMPT = (
    "You are a helpful assistant with a long-term memory. When the user tells you something "
    "worth remembering about themselves, save it with manage_memory. Before answering a "
    "question about the user, look it up with search_memory."
)


def system_prompt(rules_block: str) -> SystemMessage:
    """The agent's system message: the base prompt, then the user's rules (if any)."""
    return SystemMessage(f"{AGENT_PROMPT}\n\n{rules_block}" if rules_block else AGENT_PROMPT, id="agent-prompt")


def build_graph(
    *,
    checkpointer: Any = None,
    store: Any = None,
    model: Any = None,
    memory_model: Any = None,
    context_budget: int = 3000,
    reflection_delay: float = 1.0,
) -> Any:
    """Compile the agent (arguments as in :func:`langmem_ext.graphs.chatbot.build_graph`)."""
    configured = models()
    chat = model if model is not None else configured.chat
    memory = memory_model if memory_model is not None else (configured.memory if model is None else None)
    tools = [create_manage_memory_tool(), create_search_memory_tool()]
    bound = chat.bind_tools(tools)

    def context(state: ShortTermState, rules: str) -> list[AnyMessage]:
        return model_input(state, str(system_prompt(rules).content))

    def agent(state: ShortTermState, config: RunnableConfig) -> dict[str, Any]:
        rules = render_rules(load_rules(get_store(), config))
        return {"messages": [reply(bound, context(state, rules))]}

    async def aagent(state: ShortTermState, config: RunnableConfig) -> dict[str, Any]:
        rules = render_rules(await aload_rules(get_store(), config))
        return {"messages": [await areply(bound, context(state, rules))]}

    def after_agent(state: ShortTermState) -> str:
        return "tools" if tools_condition(state) == "tools" else "reflect"

    builder = StateGraph(ShortTermState)
    builder.add_node("trim", TrimNode(max_tokens=sized_budget(chat, context_budget)))
    builder.add_node("agent", RunnableLambda(agent, afunc=aagent, name="agent"))
    builder.add_node("tools", ToolNode(tools))
    builder.add_node("reflect", ReflectionNode(model=memory, kinds=("procedural",), background=True, delay=reflection_delay))
    builder.add_edge(START, "trim")
    builder.add_edge("trim", "agent")
    builder.add_conditional_edges("agent", after_agent, ["tools", "reflect"])
    builder.add_edge("tools", "trim")
    builder.add_edge("reflect", END)
    return builder.compile(checkpointer=checkpointer, store=store, name="agent")


graph = build_graph()
"""For ``langgraph dev`` / Studio: no checkpointer or store (the server injects its own)."""


if __name__ == "__main__":  # pragma: no cover - exercised by tests/graphs via subprocess
    from langchain_core.messages import HumanMessage

    from langmem_ext.graphs.common import redis_backends, thread_config

    print(models().description)
    with redis_backends() as (saver, store):
        agent_graph = build_graph(checkpointer=saver, store=store)
        for thread, text in (("agent-example-1", "I work as a nurse in Leeds."), ("agent-example-2", "Where do I work?")):
            result = agent_graph.invoke({"messages": [HumanMessage(text)]}, thread_config(thread, user_id="example-user"))
            print("you:", text)
            for message in result["messages"][-3:]:
                print(f"{message.type}:", message.content or message.tool_calls)
