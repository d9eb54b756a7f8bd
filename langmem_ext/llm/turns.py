"""The per-turn budget of memory work: requests and seconds for one user turn.

Memory nodes do not know where a turn starts, but they all see the same latest user
message: :func:`turn_key` names the turn by it, and :func:`budget_for` hands every
node of that turn the same :class:`TurnBudget`. The first memory call of a turn starts
its clock. Past ``turn_requests`` requests or ``turn_seconds`` seconds of inline work,
a memory call does not go out and its fallback answers instead. Background calls
(reflection) count their requests against the turn they reflect on, not its clock.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> key = turn_key([HumanMessage("I live in Porto.", id="h1"), AIMessage("Nice.", id="a1")])
    >>> key
    'h1'
    >>> budget = budget_for(key, requests=3, seconds=30)
    >>> budget.take(), budget.take(), budget.take(), budget.take()
    (True, True, True, False)
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
    """Requests left and the inline deadline of one turn (thread-safe)."""

    requests: int
    seconds: float
    used: int = 0
    started: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self) -> bool:
        """Use one request; False when none is left (nothing is used then)."""
        with self.lock:
            if self.used >= self.requests:
                return False
            self.used += 1
            return True

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
