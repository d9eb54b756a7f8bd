"""Add long-term memory to a graph you already have: two nodes, Redis, any chat model.

    python examples/quickstart.py

Runs offline with no configuration (embedded Redis, offline responder); set REDIS_URL
and LANGMEM_EXT_CHAT_MODEL (or OPENAI_API_KEY) to use your own.
"""

from __future__ import annotations

from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from langmem_ext import model_input, redis_url
from langmem_ext.checkpoint import RedisSaver
from langmem_ext.long_term import RecallNode, ReflectionNode
from langmem_ext.models import resolve_models
from langmem_ext.store import RedisStore

models = resolve_models()
print(models.description)


def call_model(state: MessagesState) -> dict:
    """The node your graph already had, reading model_input(state) instead of state["messages"]."""
    return {"messages": [models.chat.invoke(model_input(state))]}


builder = StateGraph(MessagesState)
builder.add_node("recall", RecallNode())
builder.add_node("model", call_model)
builder.add_node("reflect", ReflectionNode())  # the configured memory model; offline when none
builder.add_edge(START, "recall")
builder.add_edge("recall", "model")
builder.add_edge("model", "reflect")
builder.add_edge("reflect", END)

INDEX = {"dims": 384, "embed": "langmem-ext:minilm", "fields": ["content"]}

with RedisSaver.from_conn_string(redis_url()) as saver, RedisStore.from_conn_string(redis_url(), index=INDEX) as store:
    graph = builder.compile(checkpointer=saver, store=store)
    turns = [
        ("monday", "Hi! I'm Noor, I live in Utrecht and I'm allergic to shellfish."),
        ("monday", "I'm training for a half marathon in October."),
        ("friday", "Which city do I live in?"),
        ("friday", "What am I allergic to?"),
    ]
    for thread, text in turns:
        config = {"configurable": {"thread_id": f"quickstart-{thread}", "user_id": "noor"}}
        reply = graph.invoke({"messages": [HumanMessage(text)]}, config)["messages"][-1].content
        print(f"[{thread}] you: {text}\n[{thread}] bot: {reply}")
