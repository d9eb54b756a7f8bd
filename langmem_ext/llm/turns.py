"""The per-turn budget of memory work: failed requests and seconds for one user turn.

Memory nodes do not know where a turn starts, but they all see the same latest user
message: :func:`turn_key` names the turn by it, and :func:`budget_for` hands every
node of that turn the same :class:`TurnBudget`. The first memory call of a turn starts
its clock. Once ``turn_requests`` requests of the turn have failed (an error, or an
answer that could not be used), or ``turn_seconds`` of inline work have passed, a memory
call does not go out and its fallback answers instead: under a server that keeps
failing, memory work sends at most ``turn_requests`` requests per turn. Requests that
succeed are not capped (each call is bounded by itself: one retry, one repair).
Background calls (reflection) count against the turn they reflect on, not its clock.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> key = turn_key([HumanMessage("I live in Porto.", id="h1"), AIMessage("Nice.", id="a1")])
    >>> key
    'h1'
    >>> budget = budget_for(key, requests=3, seconds=30)
    >>> for _ in range(3):
    ...     budget.failed()
    >>> budget.may_send(), budget.left
    (False, 0)
    >>> budget_for(key, requests=3, seconds=30) is budget
    True
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.messages import BaseMessage, HumanMessage

__all__ = ["TurnBudget", "budget_for", "reset_turns", "turn_key"]

MAX_TURNS = 4096
"""Turn budgets kept in memory (the oldest are forgotten)."""


@dataclass
class TurnBudget:
    """Failed requests left and the inline deadline of one turn (thread-safe)."""

    requests: int
    seconds: float
    used: int = 0
    started: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def may_send(self) -> bool:
        """Whether another request may go out (fewer than ``requests`` have failed)."""
        with self.lock:
            return self.used < self.requests

    def failed(self) -> None:
        """Count one failed request."""
        with self.lock:
            self.used += 1

    def start(self) -> None:
        """Start the inline clock (first inline memory call of the turn)."""
        with self.lock:
            if self.started is None:
                self.started = time.monotonic()

    def seconds_left(self) -> float:
        """Seconds of inline work left (the full budget before the clock starts)."""
        with self.lock:
            if self.started is None:
                return self.seconds
            return max(0.0, self.seconds - (time.monotonic() - self.started))

    @property
    def left(self) -> int:
        return max(0, self.requests - self.used)


_TURNS: OrderedDict[str, TurnBudget] = OrderedDict()
_LOCK = threading.Lock()


def turn_key(messages: Sequence[BaseMessage]) -> str | None:
    """The turn the messages belong to: the id of the latest user message (or a hash of it)."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            if message.id:
                return str(message.id)
            return "h:" + hashlib.sha1(str(message.content).encode()).hexdigest()[:16]
    return None


def budget_for(key: str | None, *, requests: int, seconds: float) -> TurnBudget:
    """The shared budget of turn ``key`` (a fresh, unshared one for ``None``)."""
    if key is None:
        return TurnBudget(requests, seconds)
    with _LOCK:
        budget = _TURNS.get(key)
        if budget is None:
            budget = _TURNS[key] = TurnBudget(requests, seconds)
            while len(_TURNS) > MAX_TURNS:
                _TURNS.popitem(last=False)
        else:
            _TURNS.move_to_end(key)
        return budget


def reset_turns() -> None:
    """Forget every turn budget (tests)."""
    with _LOCK:
        _TURNS.clear()
