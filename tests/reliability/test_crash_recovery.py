"""``kill -9`` of Redis in the middle of a conversation, then a restart from the AOF.

A real LangGraph graph runs turns through our ``RedisSaver`` on a private
Redis with ``appendfsync always``. The server is SIGKILLed inside a turn
(after the input checkpoint, before the reply) or right after a checkpoint
was acknowledged. After the restart the graph resumes from its last
checkpoint and the conversation holds every message exactly once.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import redis

from langmem_ext.server import EmbeddedRedis
from tests.reliability._backends import make_saver
from tests.reliability._chat_graph import build_graph, config, contents, expected, human

TURNS = 8


def _resume(graph: Any, thread: str, turn: int) -> None:
    """What a client does after a failed turn: finish it from the last checkpoint.

    If the input of ``turn`` was checkpointed, continue with ``invoke(None)`` (there are
    tasks to run, or tasks whose writes were saved before their step's checkpoint: then
    LangGraph shows ``next == ()`` but ``tasks`` non-empty); if it never reached Redis,
    send it again; if the turn completed, do nothing.
    """
    state = graph.get_state(config(thread))
    done = contents(state.values.get("messages", []))
    if state.next or state.tasks:
        graph.invoke(None, config(thread))
    elif done != expected(thread, turn + 1):
        assert done == expected(thread, turn), f"state after crash is neither before nor after: {done}"
        graph.invoke({"messages": [human(thread, turn)]}, config(thread))


@pytest.mark.parametrize(
    ("policy", "durability"), [("always", "sync"), ("always", "async"), ("everysec", "sync")]
)
def test_kill9_mid_turn_resumes_without_loss_or_duplicates(tmp_path, policy: str, durability: str) -> None:
    """LangGraph's ``durability="sync"`` waits for each checkpoint before the next step, so
    the checkpoint holding the turn's input is on disk before the node runs; with the
    default ``"async"`` the crash may take that checkpoint, and the run resumes from the
    input checkpoint (``__start__``) instead. Either way nothing is lost or doubled."""
    server = EmbeddedRedis(data_dir=tmp_path, appendfsync=policy).start()
    crash_turns = {2, 5}
    crashes: list[int] = []
    try:
        saver = make_saver(server.url)

        def before_reply(state: Any) -> None:
            turn = (len(state["messages"]) - 1) // 2
            if turn in crash_turns and turn not in crashes:
                crashes.append(turn)
                server.kill()

        graph = build_graph(saver, before_reply=before_reply)
        thread = "crash-mid-turn"
        for turn in range(TURNS):
            try:
                graph.invoke({"messages": [human(thread, turn)]}, config(thread), durability=durability)
            except (redis.ConnectionError, redis.TimeoutError, ConnectionError):
                assert turn in crash_turns
                server.restart()
                state = graph.get_state(config(thread))
                if durability == "sync" and policy == "always":
                    assert state.next == ("chat",)  # the step that holds the input survived
                    assert contents(state.values["messages"]) == [*expected(thread, turn), f"{thread} turn {turn}"]
                else:
                    # async: the crash may have taken the input checkpoint too: () = resend.
                    # everysec: Redis may hold back the AOF write() itself (not only the
                    # fsync) for up to 2 s while a background fsync is slow, so even an
                    # acknowledged checkpoint can be lost to kill -9 on a busy disk.
                    assert state.next in {(), ("chat",), ("__start__",)}
                _resume(graph, thread, turn)
        assert crashes == sorted(crash_turns)
        final = graph.get_state(config(thread)).values["messages"]
        assert contents(final) == expected(thread, TURNS)
        assert len({m.id for m in final}) == len(final)
    finally:
        server.stop()


def test_kill9_after_acknowledged_checkpoints_loses_none(tmp_path) -> None:
    """Kill right after puts returned, at seeded random turns: every acked turn survives."""
    server = EmbeddedRedis(data_dir=tmp_path, appendfsync="always").start()
    rng = random.Random(7)
    kill_after = set(rng.sample(range(TURNS), 3))
    try:
        graph = build_graph(make_saver(server.url))
        thread = "crash-after-ack"
        for turn in range(TURNS):
            graph.invoke({"messages": [human(thread, turn)]}, config(thread))
            if turn in kill_after:
                server.kill()
                server.restart()
                graph = build_graph(make_saver(server.url))  # a fresh process, as after a crash
                state = graph.get_state(config(thread))
                assert state.next == ()
                assert contents(state.values["messages"]) == expected(thread, turn + 1)
        history = list(graph.get_state_history(config(thread)))
        steps = sorted(s.metadata["step"] for s in history)
        assert len(steps) == len(set(steps))  # no checkpoint written twice
    finally:
        server.stop()


def test_control_without_persistence_a_crash_loses_the_conversation() -> None:
    """What the AOF buys: the same crash on a server without persistence loses it all."""
    server = EmbeddedRedis().start()  # no data_dir: no AOF, no RDB
    try:
        graph = build_graph(make_saver(server.url))
        graph.invoke({"messages": [human("t", 0)]}, config("t"))
        server.kill()
        server.restart()
        assert graph.get_state(config("t")).values == {}
    finally:
        server.stop()
