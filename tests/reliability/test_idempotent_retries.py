"""A connection dropped in the middle of a write: the retry never duplicates anything.

The fault proxy lets a write reach Redis (so it runs) and then loses the reply, or
cuts the request half-way (so it does not run). redis-py retries either way, with
backoff and a bound (see ``test_connection_faults.py``); these tests check that
the retried checkpoint, write, store item and memory update each land exactly once.
"""

from __future__ import annotations

import pytest
import redis

from langmem_ext.checkpoint import _lua
from langmem_ext.long_term.operations import plan_changes, reflection_schema
from langmem_ext.long_term.schemas import SemanticMemory, from_value
from langmem_ext.long_term.writer import apply_changes, put_memories
from tests.reliability._backends import FAST, make_saver, make_store
from tests.reliability._chat_graph import (
    build_graph,
    config,
    contents,
    expected,
    human,
    reference_checkpoints,
)
from tests.reliability._proxy import FaultProxy

FAULTS = ["drop_reply_after", "cut_request"]


def _arm(proxy: FaultProxy, fault: str, pattern: bytes, times: int = 1) -> None:
    getattr(proxy, fault)(pattern, times=times)


@pytest.mark.parametrize("fault", FAULTS)
def test_checkpoints_and_writes_land_once_through_a_flaky_connection(
    proxy: FaultProxy, redis_url: str, fault: str
) -> None:
    saver = make_saver(proxy.url)
    graph = build_graph(saver)
    thread = f"flaky-{fault}"
    for turn in range(6):
        _arm(proxy, fault, _lua.PUT.sha.encode())  # the next checkpoint put
        _arm(proxy, fault, _lua.PUT_WRITES.sha.encode())  # and the next pending-writes put
        graph.invoke({"messages": [human(thread, turn)]}, config(thread))
    assert proxy.faults_fired >= 12
    clean = build_graph(make_saver(redis_url))  # read back without the proxy
    assert contents(clean.get_state(config(thread)).values["messages"]) == expected(thread, 6)
    history = list(clean.get_state_history(config(thread)))
    assert len(history) == reference_checkpoints(6)
    assert len({h.config["configurable"]["checkpoint_id"] for h in history}) == len(history)
    for snapshot in history:
        messages = snapshot.values.get("messages", [])
        assert len({m.id for m in messages}) == len(messages)  # no message twice in any checkpoint


@pytest.mark.parametrize("fault", FAULTS)
def test_store_put_lands_once(proxy: FaultProxy, redis_url: str, fault: str) -> None:
    store = make_store(proxy.url)
    for i in range(3):
        _arm(proxy, fault, b"EVALSHA")  # one lost write per put; the retry succeeds
        store.put(("memories", "u1"), f"k{i}", {"text": f"fact {i}"})
    assert proxy.faults_fired == 3
    direct = make_store(redis_url)
    items = direct.search(("memories", "u1"), limit=10)
    assert sorted((i.key, i.value["text"]) for i in items) == [(f"k{i}", f"fact {i}") for i in range(3)]


def test_memory_update_through_a_lost_cas_reply_is_applied_once(proxy: FaultProxy, redis_url: str) -> None:
    """The CAS ran, its reply was lost, redis-py retried it and saw a conflict with itself."""
    ns = ("memories", "u1", "semantic")
    seed = SemanticMemory(content="Lives in Paris")
    put_memories(make_store(redis_url), ns, [seed])
    schema = reflection_schema(["semantic"])
    result = schema.model_validate(
        {"operations": [{"action": "update", "kind": "semantic", "id": seed.id, "memory": {"content": "Lives in Lisbon"}, "reason": "moved"}]}
    )
    changes = plan_changes(result.operations, known={seed.id: (ns, seed)}, namespaces={"semantic": ns})
    store = make_store(proxy.url)
    proxy.drop_reply_after(b"EVALSHA")
    apply_changes(store, changes)
    assert proxy.faults_fired == 1
    item = make_store(redis_url).get(ns, seed.id)
    memory = from_value(item.value, key=item.key)
    assert memory.content == "Lives in Lisbon"
    assert memory.version == 2
    assert [h.op for h in memory.history].count("update") == 1


def test_bounded_retries_surface_a_clear_error_and_leave_data_unchanged(proxy: FaultProxy, redis_url: str) -> None:
    saver = make_saver(proxy.url)
    graph = build_graph(saver)
    graph.invoke({"messages": [human("t", 0)]}, config("t"))
    proxy.cut_request(_lua.PUT.sha.encode(), times=100)
    with pytest.raises((redis.ConnectionError, ConnectionError)):
        graph.invoke({"messages": [human("t", 1)]}, config("t"))
    assert proxy.faults_fired == 1 + FAST["retries"]
    proxy.clear()
    clean = build_graph(make_saver(redis_url))
    assert contents(clean.get_state(config("t")).values["messages"]) == expected("t", 1)
