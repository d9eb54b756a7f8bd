"""Background work that uses a store is drained before the store closes (langmem_ext._background).

The child processes below are what a user's script does: run a graph inside
``with RedisStore.from_conn_string(...)`` (or ``async with AsyncRedisStore...``), leave the
block, and exit. The store's server is the child's own and stops right after the block, as
the demo's private Redis does: work still pending then would run against a dead server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from langgraph.store.memory import InMemoryStore

from langmem_ext import _background
from langmem_ext.long_term import ReflectionNode, SemanticMemory, put_memories
from langmem_ext.long_term.dead_letters import list_dead_letters
from langmem_ext.long_term.executor import ReflectionExecutor
from langmem_ext.long_term.forgetting import StatsBuffer

ROOT = Path(__file__).resolve().parents[1]

_CHILD = '''
import asyncio, json, logging, sys
import redis
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langmem_ext import RecallNode, ReflectionNode
from langmem_ext.connection import aconnect, connect
from langmem_ext.long_term import SemanticMemory, put_memories
from langmem_ext.long_term.testing import HASH_DIMS, hash_embed
from langmem_ext.server import EmbeddedRedis
from langmem_ext.store import AsyncRedisStore, RedisStore

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
mode, ending = sys.argv[1:3]  # sync | async;  block (leave the with block) | exit (never closed)
INDEX = {"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]}

def model(state: MessagesState):
    return {"messages": [AIMessage("Noted.")]}

builder = StateGraph(MessagesState)
builder.add_node("recall", RecallNode(reinforce="background", reinforce_interval=600))  # would wait 10 minutes
builder.add_node("model", model)
builder.add_node("reflect", ReflectionNode(model=None, background=True, delay=600))  # so would this
builder.add_edge(START, "recall"); builder.add_edge("recall", "model"); builder.add_edge("model", "reflect")
TURNS = [("1", "I live in Oslo."), ("2", "I work at Acme.")]

def config(thread):
    return {"configurable": {"user_id": "u", "thread_id": thread}}

server = EmbeddedRedis().start()
seed = [SemanticMemory(content="User likes green tea")]

def report_and_stop():
    """What is in Redis now (a fresh connection); then the server stops."""
    with RedisStore.from_conn_string(server.url, index=INDEX) as fresh:
        found = {
            "facts": sorted(i.value["content"] for i in fresh.search(("memories", "u", "semantic"), limit=50)),
            "access": [i.value.get("access_count") for i in fresh.search(("memories", "u", "access"))],
        }
    print(json.dumps(found), flush=True)
    server.stop()

def play(store):
    put_memories(store, ("memories", "u", "semantic"), seed)
    graph = builder.compile(store=store, checkpointer=InMemorySaver())
    for thread, text in TURNS:
        graph.invoke({"messages": [HumanMessage(text)]}, config(thread))

async def aplay(store):
    put_memories(store, ("memories", "u", "semantic"), seed)
    graph = builder.compile(store=store, checkpointer=InMemorySaver())
    for thread, text in TURNS:
        await graph.ainvoke({"messages": [HumanMessage(text)]}, config(thread))

if mode == "sync" and ending == "block":
    with RedisStore.from_conn_string(server.url, index=INDEX) as store:
        play(store)
    report_and_stop()  # the block is left: what it left pending is done
elif mode == "sync":
    play(RedisStore(connect(server.url), index=INDEX))
    report_and_stop()  # never closed: the work is still pending, and its server is gone
elif ending == "block":
    async def main():
        async with AsyncRedisStore.from_conn_string(server.url, index=INDEX) as store:
            await aplay(store)
        report_and_stop()
    asyncio.run(main())
else:
    async def main():
        await aplay(AsyncRedisStore(aconnect(server.url), index=INDEX))
        report_and_stop()  # before the loop closes and hands its pending reflections over
    asyncio.run(main())
print("server stopped; exiting")
'''


def _child(tmp_path: Path, mode: str, ending: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, str(script), mode, ending], capture_output=True, text=True, timeout=180,
                            env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "server stopped; exiting" in result.stdout, result.stdout[-2000:]
    return result


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_leaving_the_store_block_runs_the_pending_work_first(mode: str, tmp_path: Path) -> None:
    """Reflections and recall statistics pending when the block is left are in Redis right after it;
    nothing runs later against the stopped server, and stderr has no traceback."""
    result = _child(tmp_path, mode, "block")
    found = json.loads(result.stdout.splitlines()[0])
    assert found["facts"] == ["User likes green tea", "User lives in Oslo", "User works at Acme"], found
    assert found["access"] and all(n >= 1 for n in found["access"]), found  # the recall statistics were written
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    assert "ERROR" not in result.stderr and "WARNING" not in result.stderr, result.stderr[-4000:]
    drained = [line for line in result.stderr.splitlines() if "Before the store closed" in line]
    assert len(drained) == 1 and "3 of 3 pending background job(s)" in drained[0], result.stderr[-3000:]
    assert "background reflection 2/2" in drained[0] and "recall statistics 1/1" in drained[0], drained


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_at_exit_a_stopped_server_costs_one_warning_per_lost_job(mode: str, tmp_path: Path) -> None:
    """A store never closed, its server stopped before the process exits: the exit hook finds
    it unreachable and says so once per reflection it loses, with no traceback and no retries."""
    result = _child(tmp_path, mode, "exit")
    assert json.loads(result.stdout.splitlines()[0])["facts"] == ["User likes green tea"]  # still pending then
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    lost = [line for line in result.stderr.splitlines() if "lost while closing" in line]
    assert len(lost) == 2, result.stderr[-4000:]
    assert all(line.startswith("WARNING") and "the store cannot be reached" in line for line in lost), lost
    assert "(1 so far)" in lost[0] and "(2 so far)" in lost[1], lost
    assert "retrying" not in result.stderr, result.stderr[-4000:]


# ---- the registry, in process -----------------------------------------------------------

CONFIG = {"configurable": {"user_id": "u1", "thread_id": "t1"}}


def _facts(store: InMemoryStore) -> list[str]:
    return sorted(i.value["content"] for i in store.search(("memories", "u1", "semantic")))


def test_drain_runs_only_the_closing_stores_work() -> None:
    closing, other = InMemoryStore(), InMemoryStore()
    executor = ReflectionExecutor(ReflectionNode(model=None), delay=600)
    executor.submit([HumanMessage("I live in Porto.", id="a")], config=CONFIG, store=closing)
    executor.submit([HumanMessage("I work at Acme.", id="b")], config={"configurable": {"user_id": "u1", "thread_id": "t2"}},
                    store=other)
    assert _background.drain(closing) == 1
    assert _facts(closing) == ["User lives in Porto"]
    assert _facts(other) == [] and executor.pending() == 1  # the other store's reflection keeps its timer
    assert _background.drain(closing) == 0
    executor.close()
    assert _facts(other) == ["User works at Acme"]


async def test_adrain_runs_the_event_loops_own_reflections() -> None:
    store = InMemoryStore()
    executor = ReflectionExecutor(ReflectionNode(model=None), delay=600)
    executor.asubmit([HumanMessage("I live in Porto.", id="a")], config=CONFIG, store=store)
    assert await _background.adrain(store) == 1
    assert _facts(store) == ["User lives in Porto"] and executor.pending() == 0
    executor.close()


def test_drain_is_bounded_and_keeps_the_rest_as_dead_letters() -> None:
    import threading

    started, release = threading.Event(), threading.Event()

    class Slow(ReflectionNode):
        def reflect(self, messages, *, config=None, store=None):
            started.set()
            release.wait(10)
            return super().reflect(messages, config=config, store=store)

    store = InMemoryStore()
    node = Slow(model=None)
    executor = ReflectionExecutor(node, delay=600, exit_timeout=0.3)
    executor.submit([HumanMessage("I live in Porto.", id="a")], config=CONFIG, store=store)
    executor.submit([HumanMessage("I work at Acme.", id="b")], config={"configurable": {"user_id": "u1", "thread_id": "t2"}},
                    store=store)
    assert _background.drain(store) == 0  # one runs past the timeout, the other never started
    release.set()
    assert started.is_set()
    letters = list_dead_letters(store, node)
    assert len(letters) == 1 and "the store closed" in letters[0].error, letters
    executor.close()


def test_drain_writes_the_stores_pending_recall_statistics() -> None:
    from datetime import timedelta

    from langmem_ext.long_term.schemas import utcnow

    store, other = InMemoryStore(), InMemoryStore()
    memory = SemanticMemory(content="User likes tea")
    put_memories(store, ("memories", "u1", "semantic"), [memory])
    buffer = StatsBuffer(interval=600, half_life=timedelta(days=30))
    buffer.add(store, ("memories", "u1", "access"), [memory], utcnow())
    buffer.add(store, ("memories", "u1", "access"), [memory], utcnow())
    buffer.add(other, ("memories", "u1", "access"), [memory], utcnow())
    assert _background.drain(store) == 1
    assert store.get(("memories", "u1", "access"), memory.id).value["access_count"] == 2
    assert other.get(("memories", "u1", "access"), memory.id) is None  # still buffered
    buffer.flush()
    assert other.get(("memories", "u1", "access"), memory.id).value["access_count"] == 1


def test_a_failing_worker_does_not_fail_the_close(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        name, drain_timeout = "broken work", 0.1

        def start_draining(self, store):
            return 1

        def finish_draining(self, store, deadline):
            raise RuntimeError("boom")

        async def afinish_draining(self, store, deadline):
            raise RuntimeError("boom")

    worker = Broken()
    _background.register(worker)
    assert _background.drain(object()) == 0
    assert "Draining broken work before the store closes failed: RuntimeError: boom" in caplog.text
    del worker
