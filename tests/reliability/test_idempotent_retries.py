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
from tests.reliability._backends import FAST, make_saver
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
