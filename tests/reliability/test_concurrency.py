"""Concurrency: many conversations at once, and racing reflections on one user's memories.

No timing thresholds: these tests count messages, memories and versions.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.config import get_config
from langgraph.graph import START, MessagesState, StateGraph

from langmem_ext.long_term.operations import Changes, record_change
from langmem_ext.long_term.schemas import SemanticMemory, from_value, utcnow
from langmem_ext.long_term.writer import apply_changes, put_memories
from tests.reliability._backends import make_async_saver, make_async_store, make_store
from tests.reliability._embed import index_config

THREADS, TURNS = 50, 20


def _graph(saver: Any, store: Any) -> Any:
    async def chat(state: MessagesState) -> dict[str, Any]:
        thread = get_config()["configurable"]["thread_id"]
        last = str(state["messages"][-1].content)
        await store.asearch(("memories", thread), query=last, limit=3)
        turn = len(state["messages"]) // 2
        await store.aput(("memories", thread), f"m{turn}", {"text": last})
        return {"messages": [AIMessage(content=f"echo: {last}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    return builder.compile(checkpointer=saver, store=store)


async def test_50_threads_x_20_turns_every_message_accounted_for(redis_url: str) -> None:
    saver = await make_async_saver(redis_url)
    store = await make_async_store(redis_url, index=index_config(["text"]))
    graph = _graph(saver, store)

    async def conversation(i: int) -> None:
        cfg = {"configurable": {"thread_id": f"t{i}"}}
        for turn in range(TURNS):
            await graph.ainvoke({"messages": [HumanMessage(f"t{i} turn {turn}")]}, cfg)

    await asyncio.gather(*(conversation(i) for i in range(THREADS)))
    for i in range(THREADS):
        state = await graph.aget_state({"configurable": {"thread_id": f"t{i}"}})
        got = [str(m.content) for m in state.values["messages"]]
        want = [x for t in range(TURNS) for x in (f"t{i} turn {t}", f"echo: t{i} turn {t}")]
        assert got == want, f"thread t{i}"
        memories = await store.asearch(("memories", f"t{i}"), limit=TURNS + 5)
        assert sorted(m.key for m in memories) == sorted(f"m{t}" for t in range(TURNS))
        assert {m.value["text"] for m in memories} == {f"t{i} turn {t}" for t in range(TURNS)}


def _tagging(tag: str, gate: threading.Barrier | None) -> Any:
    """A mutation that appends ``tag``; the first call waits until every racer has read."""
    first = [True]

    def mutate(memory: Any) -> Any:
        if first[0] and gate is not None:
            first[0] = False
            gate.wait(timeout=10)
        changed = memory.model_copy(update={"content": f"{memory.content} +{tag}"})
        return record_change(changed, op="update", old=memory.content, reason=tag, now=utcnow())

    return mutate


def _race(redis_url: str, *, racers: int, concurrency: str) -> tuple[Any, list[BaseException]]:
    """``racers`` reflections, each with its own store (as separate processes would),
    all reading version 1 of one memory before any of them writes."""
    ns = ("memories", "user-1", "semantic")
    seed = SemanticMemory(content="likes tea")
    put_memories(make_store(redis_url), ns, [seed])
    gate = threading.Barrier(racers)
    errors: list[BaseException] = []

    def reflect(i: int) -> None:
        try:
            changes = Changes(updates=[(ns, seed.id, _tagging(f"r{i}", gate))])
            apply_changes(make_store(redis_url), changes, concurrency=concurrency)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=reflect, args=(i,)) for i in range(racers)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    item = make_store(redis_url).get(ns, seed.id)
    return from_value(item.value, key=item.key), errors


@pytest.mark.parametrize("racers", [2, 4])
def test_racing_reflections_keep_every_update_with_cas(redis_url: str, racers: int) -> None:
    memory, errors = _race(redis_url, racers=racers, concurrency="auto")
    assert errors == []
    assert sorted(memory.content.split(" +")[1:]) == [f"r{i}" for i in range(racers)]
    assert memory.version == 1 + racers


def test_the_same_race_loses_updates_without_cas(redis_url: str) -> None:
    """The control: a plain read-modify-write under the same interleaving loses work."""
    memory, errors = _race(redis_url, racers=2, concurrency="none")
    assert errors == []
    assert len(memory.content.split(" +")[1:]) == 1  # one racer's update overwrote the other's
    assert memory.version == 2


def test_put_if_version_rejects_a_stale_version_and_changes_nothing(redis_url: str) -> None:
    store = make_store(redis_url)
    ns = ("memories", "u")
    store.put(ns, "m", {"content": "v1", "version": 1})
    assert store.put_if_version(ns, "m", {"content": "v2", "version": 2}, expected_version=1) is not None
    assert store.put_if_version(ns, "m", {"content": "stale", "version": 2}, expected_version=1) is None
    assert store.get(ns, "m").value == {"content": "v2", "version": 2}
