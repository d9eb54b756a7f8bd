"""Scale-out: the checkpointer and the store's key-value part on a 3-master Redis Cluster.

The cluster is started by the tests from the embedded binary (ports 17000-17999).
The key design puts every key of one thread (and of one store item) in one hash
slot, so Lua scripts and MULTI never span slots: nothing here may raise
CROSSSLOT, and a thread's keys are checked slot by slot with SCAN on every node.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from langmem_ext.checkpoint import RedisSaver
from langmem_ext.store import RedisStore
from tests.reliability._chat_graph import (
    build_graph,
    config,
    contents,
    expected,
    human,
    reference_checkpoints,
)
from tests.reliability._cluster import LocalCluster

THREADS = [f"user-{i}" for i in range(6)] + ["we{ird}|thread", "日本"]


def _all_keys(cluster: LocalCluster) -> list[bytes]:
    keys: list[bytes] = []
    for port in cluster.ports:
        node = redis.Redis(host="127.0.0.1", port=port)
        keys += list(node.scan_iter(count=1000))
        node.close()
    return keys


def _slot(client: RedisCluster, key: bytes) -> int:
    return int(client.cluster_keyslot(key))


def test_checkpointer_on_a_cluster_keeps_each_thread_in_one_slot(cluster: LocalCluster) -> None:
    client = cluster.client()
    saver = RedisSaver(client)
    saver.setup()
    graph = build_graph(saver)
    for thread in THREADS:
        for turn in range(3):
            graph.invoke({"messages": [human(thread, turn)]}, config(thread))
    for thread in THREADS:
        state = graph.get_state(config(thread))
        assert contents(state.values["messages"]) == expected(thread, 3)
        assert len(list(saver.list(config(thread)))) == reference_checkpoints(3)

    by_thread: dict[str, set[int]] = {}
    for key in _all_keys(cluster):
        text = key.decode(errors="replace")
        tag = text[text.index("{") + 1 : text.index("}")] if "{" in text else text
        by_thread.setdefault(tag, set()).add(_slot(client, key))
    assert len(by_thread) >= len(THREADS)
    assert all(len(slots) == 1 for slots in by_thread.values()), by_thread
    nodes = {client.nodes_manager.get_node_from_slot(next(iter(s))).name for s in by_thread.values()}
    assert len(nodes) >= 2  # threads really are spread: a cross-slot design would have failed

    for thread in THREADS[:3]:
        saver.delete_thread(thread)
        assert saver.get_tuple(config(thread)) is None
    assert graph.get_state(config(THREADS[4])).values["messages"]
    client.close()


def test_store_key_value_part_on_a_cluster(cluster: LocalCluster) -> None:
    client = cluster.client()
    store = RedisStore(client)
    store.setup()
    items: dict[tuple[tuple[str, ...], str], dict[str, Any]] = {}
    for u in range(12):
        for k in range(3):
            ns, key = ("memories", f"user-{u}"), f"k{k}"
            items[(ns, key)] = {"text": f"fact {k} of {u}", "n": k}
            store.put(ns, key, items[(ns, key)])
    for (ns, key), value in items.items():
        assert store.get(ns, key).value == value
    results = store.batch([])  # an empty batch is fine
    assert results == []
    store.delete(("memories", "user-0"), "k0")
    assert store.get(("memories", "user-0"), "k0") is None
    slots = {_slot(client, k) for k in _all_keys(cluster)}
    assert len(slots) > 3  # items spread over many slots, and no CROSSSLOT was raised
    client.close()


def test_search_on_an_oss_cluster_sees_one_shard_only() -> None:
    """Why search needs a single shard (or Redis Cloud/Software's coordinator).

    RediSearch loads on OSS cluster nodes, but an index lives on the node its name
    hashes to and FT.SEARCH there counts only that node's documents.
    """
    with LocalCluster(modules=("json", "search")) as local:
        client = local.client()
        client.execute_command("FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", "t", "TAG")
        for i in range(60):
            client.hset(f"doc:{i}", "t", "x")
        home = client.nodes_manager.get_node_from_slot(_slot(client, b"idx"))
        reply = client.execute_command("FT.SEARCH", "idx", "@t:{x}", "LIMIT", 0, 0, target_nodes=home)
        total = reply[b"total_results"] if isinstance(reply, dict) else reply[0]
        assert 0 < int(total) < 60
        client.close()
