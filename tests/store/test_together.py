"""langmem_ext.store._together: several operations, one round trip per step."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.store.base import SearchOp

from langmem_ext.store import RedisStore
from langmem_ext.store._resp import EmbedQueries, Pipe
from langmem_ext.store._together import together


def _drive(gen: Any, fail: Any = lambda cmds: None) -> tuple[Any, list[list[Any]]]:
    """Answer each Pipe by echoing its commands' second word; ``fail(cmds)`` may raise instead."""
    trips: list[list[Any]] = []
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            req = gen.throw(error) if error is not None else gen.send(reply)
        except StopIteration as stop:
            return stop.value, trips
        reply, error = None, None
        if isinstance(req, Pipe):
            trips.append(list(req.cmds))
            try:
                fail(req.cmds)
                reply = [cmd[1] for cmd in req.cmds]
            except Exception as exc:
                error = exc
        else:
            trips.append([req])
            reply = ["embedded"]


def _reads(name: str, steps: int) -> Any:
    out = []
    for step in range(steps):
        out.append((yield Pipe([("GET", f"{name}{step}")])))
    return out


def test_each_step_of_all_operations_is_one_round_trip() -> None:
    result, trips = _drive(together([_reads("a", 2), _reads("b", 3), _reads("c", 1)]))
    assert result == [[["a0"], ["a1"]], [["b0"], ["b1"], ["b2"]], [["c0"]]]
    assert [len(t) for t in trips] == [3, 2, 1]  # three, then a and b, then b alone


def test_other_requests_and_tolerant_pipes_go_alone() -> None:
    def embeds() -> Any:
        (vec,) = yield EmbedQueries(["q"])
        tolerant = yield Pipe([("GET", "t")], tolerant=True)
        return vec, tolerant

    result, trips = _drive(together([embeds(), _reads("a", 2)]))
    assert result == [("embedded", ["t"]), [["a0"], ["a1"]]]
    assert len(trips) == 4 and all(len(t) == 1 for t in trips)


def test_a_failed_round_trip_is_sent_again_part_by_part_and_the_error_reaches_its_owner() -> None:
    def fail(cmds: list[Any]) -> None:
        if any(cmd[1] == "bad0" for cmd in cmds):
            raise ValueError("bad command")

    def careful() -> Any:
        try:
            yield Pipe([("GET", "bad0")])
        except ValueError as exc:
            return f"caught: {exc}"
        return "not reached"

    result, trips = _drive(together([careful(), _reads("ok", 1)]), fail)
    assert result == ["caught: bad command", [["ok0"]]]
    assert [len(t) for t in trips] == [2, 1, 1]  # together, then each alone


def test_an_uncaught_error_propagates() -> None:
    def fail(cmds: list[Any]) -> None:
        if any(cmd[1] == "bad0" for cmd in cmds):
            raise ValueError("bad command")

    with pytest.raises(ValueError, match="bad command"):
        _drive(together([_reads("bad", 1), _reads("ok", 1)]), fail)


def test_a_batch_of_searches_is_one_round_trip(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from langmem_ext.long_term.testing import HASH_DIMS, hash_embed

    with RedisStore.from_conn_string(redis_url, key_prefix="together",
                                     index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["text"]}) as store:
        store.put(("docs",), "a", {"text": "green tea in the morning"})
        store.put(("docs",), "b", {"text": "black coffee at night"})
        sent: list[list[Any]] = []
        real = store._run_pipe

        def spy(req: Pipe) -> Any:
            sent.append([cmd[0] for cmd in req.cmds])
            return real(req)

        monkeypatch.setattr(store, "_run_pipe", spy)
        ops = [SearchOp(("docs",), query="green tea", limit=1), SearchOp(("docs",), query="coffee", limit=1)]
        modes = [{0: "text"}, {0: "vector"}]

        def trips() -> int:
            n = sum("FT.SEARCH" in trip for trip in sent)
            sent.clear()
            return n

        alone = []
        for op, mode in zip(ops, modes):
            store.batch([op], modes=mode)  # warm (the vector search caches its filter's selectivity)
            trips()
            store.batch([op], modes=mode)
            alone.append(trips())
        text, vector = store.batch(ops, modes={0: "text", 1: "vector"})
        assert [i.key for i in text] == ["a"] and len(vector) == 1
        assert trips() == max(alone) < sum(alone), alone  # the steps of both searches went out together
