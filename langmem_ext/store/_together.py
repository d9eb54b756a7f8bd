"""Several store operations at once: the commands they send in the same step share one round trip.

A store operation is a generator of requests (``Pipe``, ``EmbedQueries`` ...) that the
sync or async driver answers. :func:`together` runs a few of them side by side as one
operation: whenever two or more of them wait for a (non-tolerant) ``Pipe``, their commands
go out in a single pipelined ``Pipe`` and each gets its own replies back. A batch's
searches (hybrid recall's BM25 list and its vector list, several queries' lists) thus cost
one round trip instead of one each; Redis still runs them one after the other.

Only for operations whose requests may be sent again (reads, expiry refreshes): when a
combined round trip fails, its parts are sent again one by one, so that each error reaches
the operation whose command caused it.

Example:
    >>> def op(name, n):
    ...     first = yield Pipe([("GET", name)])
    ...     second = yield Pipe([("GET", f"{name}:{i}") for i in range(n)])
    ...     return first + second
    >>> def answer(gen):  # a driver that echoes each command and logs each round trip
    ...     trips, reply = [], None
    ...     while True:
    ...         try:
    ...             req = gen.send(reply)
    ...         except StopIteration as stop:
    ...             return stop.value, trips
    ...         trips.append(len(req.cmds))
    ...         reply = [cmd[1] for cmd in req.cmds]
    >>> answer(together([op("a", 1), op("b", 2)]))
    ([['a', 'a:0'], ['b', 'b:0', 'b:1']], [2, 3])
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from langmem_ext.store._resp import Pipe

__all__ = ["together"]

Gen = Generator[Any, Any, Any]


def together(ops: Sequence[Gen]) -> Gen:
    """Run ``ops`` side by side; returns their results in order (see the module docstring)."""
    if len(ops) == 1:  # the usual batch of one search: nothing to combine
        return [(yield from ops[0])]
    results: list[Any] = [None] * len(ops)
    waiting: dict[int, Any] = {}

    def step(i: int, reply: Any = None, error: BaseException | None = None) -> None:
        try:
            req = ops[i].throw(error) if error is not None else ops[i].send(reply)
        except StopIteration as stop:
            results[i] = stop.value
            return
        waiting[i] = req

    for i in range(len(ops)):
        step(i)
    while waiting:
        pipes = [i for i, req in waiting.items() if isinstance(req, Pipe) and not req.tolerant]
        if len(pipes) < 2:  # nothing to combine: the first waiting request on its own
            i = next(iter(waiting))
            yield from _alone(step, i, waiting.pop(i))
            continue
        parts = [(i, waiting.pop(i)) for i in pipes]
        try:
            replies = yield Pipe([cmd for _, req in parts for cmd in req.cmds])
        except Exception:  # which part failed is unknown: each on its own, its error to its owner
            for i, req in parts:
                yield from _alone(step, i, req)
            continue
        start = 0
        for i, req in parts:
            step(i, replies[start:start + len(req.cmds)])
            start += len(req.cmds)
    return results


def _alone(step: Any, i: int, req: Any) -> Gen:
    try:
        reply = yield req
    except Exception as exc:
        step(i, error=exc)
    else:
        step(i, reply)
