"""Which server a model talks to, and what this process learnt about it.

An :class:`Endpoint` is the server's base URL and the model name (OpenAI's own API
when a ``ChatOpenAI`` has no base URL). Per endpoint, :class:`EndpointState` keeps:

* the structured-output methods the server rejected (never tried again there);
* the context window, when the configuration or an overflow error told it;
* a cool-down after a server error, during which memory calls skip the endpoint;
* the requests in flight, foreground (a reply, inline memory work) and background.

All of it is in-process: a restart re-learns it with one request.

Example:
    >>> from langchain_openai import ChatOpenAI
    >>> local = endpoint_of(ChatOpenAI(model="smollm2", base_url="http://127.0.0.1:7200/v1", api_key="x"))
    >>> local.key, local.is_openai
    ('http://127.0.0.1:7200/v1#smollm2', False)
    >>> endpoint_of(ChatOpenAI(model="gpt-4o-mini", api_key="sk-x")).is_openai
    True
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Endpoint", "EndpointState", "endpoint_of", "reset_endpoints", "state_of"]

OPENAI_BASE = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Endpoint:
    """A server and model: ``key`` identifies it, ``is_openai`` is OpenAI's own API."""

    key: str
    base_url: str | None
    model: str
    is_openai: bool
    is_openai_compatible: bool


def _model_name(model: Any) -> str:
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def _unwrap(model: Any) -> Any:
    """The chat model inside a ``RunnableBinding`` (``model.bind(...)``)."""
    seen = 0
    while hasattr(model, "bound") and seen < 5:
        model = model.bound
        seen += 1
    return model


def endpoint_of(model: Any) -> Endpoint:
    """The :class:`Endpoint` of a chat model (any LangChain chat model)."""
    model = _unwrap(model)
    name = _model_name(model)
    if hasattr(model, "openai_api_base") and hasattr(model, "root_client"):
        base = model.openai_api_base or os.environ.get("OPENAI_BASE_URL") or None
        base = str(base).rstrip("/") if base else None
        is_openai = base is None or base.startswith(OPENAI_BASE)
        return Endpoint(f"{base or OPENAI_BASE}#{name}", base, name, is_openai, True)
    # another provider: this model object is the endpoint (its client holds the connection)
    return Endpoint(f"{type(model).__module__}.{type(model).__name__}#{name}@{id(model):x}", None, name, False, False)


@dataclass
class EndpointState:
    """What this process learnt about one endpoint (thread-safe; see the module docstring)."""

    rejected: set[str] = field(default_factory=set)
    context_window: int | None = None
    down_until: float = 0.0
    down_cause: str = ""
    foreground: int = 0
    background: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def reject(self, method: str) -> None:
        with self.lock:
            self.rejected.add(method)

    def cooling(self, now: float | None = None) -> bool:
        """Whether memory calls should skip this endpoint now."""
        return (time.monotonic() if now is None else now) < self.down_until

    def mark_down(self, seconds: float, cause: str) -> None:
        with self.lock:
            self.down_until = max(self.down_until, time.monotonic() + seconds)
            self.down_cause = cause

    def mark_up(self) -> None:
        with self.lock:
            self.down_until = 0.0
            self.down_cause = ""

    @contextmanager
    def in_flight(self, *, background: bool) -> Iterator[None]:
        """Count a request in flight (a foreground one wakes background waiters when done)."""
        with self.lock:
            if background:
                self.background += 1
            else:
                self.foreground += 1
        try:
            yield
        finally:
            with self.lock:
                if background:
                    self.background -= 1
                else:
                    self.foreground -= 1
                self.lock.notify_all()

    def wait_for_background_turn(self, *, concurrency: int, timeout: float) -> bool:
        """Block until no foreground request is in flight and fewer than ``concurrency``
        background ones are (True), or ``timeout`` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.foreground > 0 or self.background >= concurrency:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(min(left, 0.5))
            return True

    def background_may_start(self, *, concurrency: int) -> bool:
        """Non-blocking :meth:`wait_for_background_turn` (for the asyncio driver, which polls)."""
        with self.lock:
            return self.foreground == 0 and self.background < concurrency


_STATES: dict[str, EndpointState] = {}
_LOCK = threading.Lock()


def state_of(endpoint: Endpoint) -> EndpointState:
    """The shared :class:`EndpointState` of ``endpoint``."""
    with _LOCK:
        state = _STATES.get(endpoint.key)
        if state is None:
            state = _STATES[endpoint.key] = EndpointState()
        return state


def reset_endpoints() -> None:
    """Forget everything learnt about every endpoint (tests)."""
    with _LOCK:
        _STATES.clear()
