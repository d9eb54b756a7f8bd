from __future__ import annotations

import time

import pytest

from langchain_core.messages import HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

from langmem_ext.long_term import from_value
from langmem_ext.long_term.executor import ReflectionExecutor
from langmem_ext.long_term.reflection import ReflectionNode
from langmem_ext.long_term.testing import ScriptedChatModel

CONFIG = {"configurable": {"user_id": "u1", "thread_id": "t1"}}
SEM = ("memories", "u1", "semantic")


def ops(*operations):
    return {"operations": list(operations)}


def contents(store):
    return sorted(from_value(i.value).content for i in store.search(SEM, limit=50))


def test_debounce_one_call_and_no_message_dropped(store):
    model = ScriptedChatModel(responses=[ops()])
    executor = ReflectionExecutor(ReflectionNode(model=model), delay=60)
    m1, m2, m3 = (HumanMessage(f"message number {i}", id=str(i)) for i in range(3))
    executor.submit([m1], config=CONFIG, store=store)
    executor.submit([m2], config=CONFIG, store=store)  # m1 trimmed from the state meanwhile
    executor.submit([m2, m3], config=CONFIG, store=store)
    executor.flush()
    assert len(model.calls) == 1
    transcript = model.calls[0][-1].content
    assert all(f"message number {i}" in transcript for i in range(3))
    executor.close()


def test_timer_fires_without_flush(store):
    executor = ReflectionExecutor(ReflectionNode(), delay=0.05)
    executor.submit([HumanMessage("I live in Oslo.", id="1")], config=CONFIG, store=store)
    for _ in range(200):
        if contents(store):
            break
        time.sleep(0.05)
    assert contents(store) == ["User lives in Oslo"]
    executor.close()


def test_a_model_failure_in_the_background_falls_back_without_executor_retries(store):
    from langmem_ext.long_term.dead_letters import list_dead_letters

    model = ScriptedChatModel(responses=[RuntimeError("boom"), ops(
        {"action": "insert", "kind": "semantic", "memory": {"content": "User likes rye bread"}})])
    node = ReflectionNode(model=model)
    executor = ReflectionExecutor(node, delay=60, backoff=0)
    executor.submit([HumanMessage("I like rye bread", id="1")], config=CONFIG, store=store)
    executor.flush()
    assert contents(store) == ["User likes rye bread"] and len(model.calls) == 1  # offline; a 4xx-like error: no retry
    assert [d.thread_id for d in list_dead_letters(store, node, config=CONFIG)] == ["t1"]
    executor.close()


def test_gives_up_after_max_retries():
    from langgraph.store.memory import InMemoryStore

    class DownStore(InMemoryStore):  # the store fails, not the model: the executor's retries are for that
        attempts = 0

        def batch(self, ops):
            DownStore.attempts += 1
            raise ConnectionError("store down")

    model = ScriptedChatModel(responses=[])
    executor = ReflectionExecutor(ReflectionNode(model=model), delay=60, max_retries=1, backoff=0, dead_letters=False)
    executor.submit([HumanMessage("x y z", id="1")], config=CONFIG, store=DownStore())
    executor.flush()
    assert DownStore.attempts == 2 and model.calls == []
    executor.close()


def _graph(node, store):
    builder = StateGraph(MessagesState)
    builder.add_node("reflect", node)
    builder.add_edge(START, "reflect")
    return builder.compile(store=store)


def test_background_node_uses_the_graph_store(store):
    model = ScriptedChatModel(responses=[ops({"action": "insert", "kind": "semantic", "memory": {"content": "User likes tango"}})])
    node = ReflectionNode(model=model, background=True, delay=60)
    app = _graph(node, store)
    state = app.invoke({"messages": [HumanMessage("I like tango")]}, CONFIG)
    app.invoke({"messages": state["messages"] + [HumanMessage("and milonga")]}, CONFIG)
    assert model.calls == []  # off the request path
    node.executor.flush()
    assert len(model.calls) == 1 and contents(store) == ["User likes tango"]
    node.executor.close()


async def test_async_background_debounced(store):
    model = ScriptedChatModel(responses=[ops({"action": "insert", "kind": "semantic", "memory": {"content": "User likes salsa"}})])
    node = ReflectionNode(model=model, background=True, delay=60)
    app = _graph(node, store)
    await app.ainvoke({"messages": [HumanMessage("I like salsa", id="a")]}, CONFIG)
    await app.ainvoke({"messages": [HumanMessage("and bachata", id="b")]}, CONFIG)
    await node.executor.aflush()
    assert len(model.calls) == 1
    assert "I like salsa" in model.calls[0][-1].content and "and bachata" in model.calls[0][-1].content
    assert contents(store) == ["User likes salsa"]


async def test_sync_flush_inside_the_owning_loop_is_refused(store):
    import pytest

    model = ScriptedChatModel(responses=[ops()])
    executor = ReflectionExecutor(ReflectionNode(model=model), delay=60)
    executor.asubmit([HumanMessage("I like figs", id="1")], config=CONFIG, store=store)
    with pytest.raises(RuntimeError, match="aflush"):
        executor.flush(timeout=1)  # would deadlock: the loop that must run the job is blocked here
    await executor.aflush()
    assert len(model.calls) == 1


async def test_aflush_waits_for_thread_jobs_too(store):
    model = ScriptedChatModel(responses=[ops()])
    executor = ReflectionExecutor(ReflectionNode(model=model), delay=60)
    executor.submit([HumanMessage("I like dates", id="1")], config=CONFIG, store=store)
    await executor.aflush()
    assert len(model.calls) == 1
    executor.close()


# ---- nothing lost when the process exits ------------------------------------------------

_CHILD = '''
import asyncio, logging, sys
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langmem_ext import RecallNode, ReflectionNode, TrimNode, model_input
from langmem_ext.connection import aconnect, connect
from langmem_ext.long_term.testing import HASH_DIMS, hash_embed
from langmem_ext.store import AsyncRedisStore, RedisStore

logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
url, mode, user = sys.argv[1:4]
INDEX = {"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]}

def model(state: MessagesState):
    return {"messages": [AIMessage("Noted: " + model_input(state)[-1].content)]}

builder = StateGraph(MessagesState)
builder.add_node("recall", RecallNode(reinforce="off"))
builder.add_node("trim", TrimNode(max_tokens=500))
builder.add_node("model", model)
builder.add_node("reflect", ReflectionNode(model=None, background=True, delay=600))  # would wait 10 minutes
builder.add_edge(START, "recall"); builder.add_edge("recall", "trim"); builder.add_edge("trim", "model")
builder.add_edge("model", "reflect")
turn = {"messages": [HumanMessage("I am allergic to peanuts and I live in Oslo.")]}
config = {"configurable": {"user_id": user, "thread_id": "1"}}

# The store is never closed (a closing store of ours would drain the reflection itself;
# tests/test_background.py covers that): the exit hook is what runs it.
if mode == "sync":
    store = RedisStore(connect(url), index=INDEX)
    builder.compile(store=store, checkpointer=InMemorySaver()).invoke(turn, config)
else:
    async def main():
        store = AsyncRedisStore(aconnect(url), index=INDEX)
        await builder.compile(store=store, checkpointer=InMemorySaver()).ainvoke(turn, config)
    asyncio.run(main())
print("turn done; exiting without flush()")
'''


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_background_reflection_survives_a_normal_exit(mode, redis_url, tmp_path):
    """One turn in a child process that exits at once: the exit hook runs the pending reflection."""
    import os
    import subprocess
    import sys
    import uuid

    from langmem_ext.long_term.testing import HASH_DIMS, hash_embed
    from langmem_ext.store import RedisStore

    user = f"exit-{mode}-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    result = subprocess.run([sys.executable, str(script), redis_url, mode, user], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "turn done" in result.stdout
    assert "1 of 1 pending reflection(s) done" in result.stderr, result.stderr[-3000:]
    with RedisStore.from_conn_string(redis_url, index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]}) as store:
        facts = sorted(i.value["content"] for i in store.search(("memories", user, "semantic")))
    assert facts == ["User is allergic to peanuts", "User lives in Oslo"]


def test_close_keeps_what_it_cannot_run_in_time_as_dead_letters():
    import threading

    from langgraph.store.memory import InMemoryStore

    from langmem_ext.long_term.dead_letters import list_dead_letters

    started, release = threading.Event(), threading.Event()

    class Slow(ReflectionNode):
        def reflect(self, messages, *, config=None, store=None):
            started.set()
            release.wait(10)
            return super().reflect(messages, config=config, store=store)

    store = InMemoryStore()
    node = Slow(model=None, store=store)
    executor = ReflectionExecutor(node, delay=0, exit_timeout=0.2)
    executor.submit([HumanMessage("I live in Porto.", id="a")], config=CONFIG, store=store)
    assert started.wait(10)
    executor.submit([HumanMessage("I work at Acme.", id="b")], config={"configurable": {"user_id": "u1", "thread_id": "t2"}},
                    store=store)
    assert executor.pending() == 2
    assert executor.close() == 0  # the running one cannot finish in 0.2 s; the other is kept
    release.set()
    letters = list_dead_letters(store, node)
    assert [(d.thread_id, "exit_timeout" in d.error) for d in letters] == [("t2", True)]


def test_the_node_flush_is_public_and_counts():
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore()
    node = ReflectionNode(model=None, store=store, background=True, delay=60)
    assert node.flush() == 0  # nothing submitted: no executor yet
    node.invoke({"messages": [HumanMessage("I live in Porto.", id="a")]}, CONFIG)
    assert node.flush(timeout=30) == 1 and contents(store) == ["User lives in Porto"]
