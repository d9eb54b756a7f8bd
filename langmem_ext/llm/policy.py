"""How far one model call may go: output tokens per purpose, time, retries, requests per turn.

One :class:`CallPolicy` bounds every request the product sends to a chat model:

* ``max_tokens`` per purpose. A reply gets ``reply_tokens`` (512); a summary about 1.5x
  the summary budget (:func:`summary_tokens`); a reflection room for the operations it
  may return (:func:`reflection_tokens`); a batch of importance scores a few tokens per
  message (:func:`score_tokens`). Without a bound a small local model runs to its context
  limit (thousands of tokens, minutes on a CPU).
* ``timeout``: seconds one HTTP request may take.
* ``retries`` / ``backoff`` / ``backoff_cap``: the ONE retry policy (full jitter). Only
  transient failures (429, 5xx, timeouts, lost connections) are retried; a 4xx or an
  output that fails validation is never re-sent as is.
* ``turn_requests`` / ``turn_seconds``: what memory work (summary, scores, reflection)
  may spend for one user turn: failed requests, and seconds of inline work. Past either,
  the offline strategy answers (:mod:`.turns`).
* ``cooldown``: after a memory call failed for a server error, memory calls to that
  endpoint go straight to their fallback for this many seconds (no request).
* ``background_concurrency``: background memory requests in flight per endpoint.

Every field can be set from the environment (``LANGMEM_EXT_LLM_*``, see :data:`ENV_VARS`).

Example:
    >>> policy = CallPolicy.from_env({"LANGMEM_EXT_LLM_TIMEOUT": "20"})
    >>> policy.timeout, policy.turn_requests, summary_tokens(256)
    (20.0, 3, 384)
    >>> reflection_tokens(8), score_tokens(20)
    (736, 272)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

__all__ = [
    "CallPolicy",
    "ENV_VARS",
    "default_policy",
    "reflection_tokens",
    "score_tokens",
    "set_default_policy",
    "summary_tokens",
]

ENV_VARS: dict[str, str] = {
    "LANGMEM_EXT_LLM_REPLY_TOKENS": "Most tokens a reply may have (512).",
    "LANGMEM_EXT_LLM_TIMEOUT": "Seconds one model request may take (60).",
    "LANGMEM_EXT_LLM_RETRIES": "Retries of a transient failure (429, 5xx, timeout) per call (1).",
    "LANGMEM_EXT_LLM_TURN_REQUESTS": "Failed model requests memory work may spend per user turn (3).",
    "LANGMEM_EXT_LLM_TURN_SECONDS": "Seconds inline memory work may take per user turn (30).",
    "LANGMEM_EXT_LLM_COOLDOWN": "Seconds memory calls skip an endpoint after a server error (30).",
    "LANGMEM_EXT_LLM_BACKGROUND_CONCURRENCY": "Background memory requests in flight per endpoint (1).",
    "LANGMEM_EXT_STRUCTURED_METHOD": "Force the structured-output method: json_schema, function_calling or json_mode.",
    "LANGMEM_EXT_CONTEXT_WINDOW": "The memory and chat models' context window in tokens, when the model does not say.",
}

_ENV = {
    "reply_tokens": ("LANGMEM_EXT_LLM_REPLY_TOKENS", int),
    "timeout": ("LANGMEM_EXT_LLM_TIMEOUT", float),
    "retries": ("LANGMEM_EXT_LLM_RETRIES", int),
    "turn_requests": ("LANGMEM_EXT_LLM_TURN_REQUESTS", int),
    "turn_seconds": ("LANGMEM_EXT_LLM_TURN_SECONDS", float),
    "cooldown": ("LANGMEM_EXT_LLM_COOLDOWN", float),
    "background_concurrency": ("LANGMEM_EXT_LLM_BACKGROUND_CONCURRENCY", int),
}


@dataclass(frozen=True, kw_only=True)
class CallPolicy:
    """Bounds of every model request (see the module docstring).

    Attributes:
        reply_tokens: ``max_tokens`` of a reply.
        timeout: Seconds per HTTP request.
        retries: Retries of a transient failure within one call (0: none).
        backoff: First retry delay in seconds (full jitter: a random delay up to it).
        backoff_cap: Longest retry delay.
        turn_requests: Failed model requests memory work may spend per user turn.
        turn_seconds: Seconds inline memory work may take per user turn.
        cooldown: Seconds memory calls skip an endpoint after a server error.
        background_concurrency: Background memory requests in flight per endpoint.
    """

    reply_tokens: int = 512
    timeout: float = 60.0
    retries: int = 1
    backoff: float = 0.5
    backoff_cap: float = 8.0
    turn_requests: int = 3
    turn_seconds: float = 30.0
    cooldown: float = 30.0
    background_concurrency: int = 1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            minimum = 0 if f.name in ("retries", "backoff", "cooldown") else 1e-9
            if not isinstance(value, (int, float)) or value < minimum:
                raise ValueError(
                    f"CallPolicy.{f.name} must be a number >= {0 if minimum == 0 else 'a positive value'}, "
                    f"got {value!r}; set it with CallPolicy({f.name}=...) or its environment variable."
                )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CallPolicy:
        """The defaults, overridden by ``LANGMEM_EXT_LLM_*`` variables in ``env`` (``os.environ``).

        Raises:
            ValueError: a variable that is not a number (the message names it).
        """
        env = os.environ if env is None else env
        values: dict[str, float | int] = {}
        for name, (var, kind) in _ENV.items():
            raw = (env.get(var) or "").strip()
            if not raw:
                continue
            try:
                values[name] = kind(raw)
            except ValueError:
                raise ValueError(f"{var}={raw!r} is not a {'whole ' if kind is int else ''}number; fix or unset it.") from None
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: float | int) -> CallPolicy:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


_DEFAULT: list[CallPolicy] = []


def default_policy() -> CallPolicy:
    """The process-wide policy (read from the environment on first use)."""
    if not _DEFAULT:
        _DEFAULT.append(CallPolicy.from_env())
    return _DEFAULT[0]


def set_default_policy(policy: CallPolicy | None) -> None:
    """Replace the process-wide policy (``None``: read the environment again on next use)."""
    _DEFAULT.clear()
    if policy is not None:
        _DEFAULT.append(policy)


def summary_tokens(max_summary_tokens: int) -> int:
    """``max_tokens`` of a summary call: 1.5x the summary budget (the summary is cut to it after)."""
    return max(16, math.ceil(1.5 * max_summary_tokens))


def reflection_tokens(max_operations: int, *, per_operation: int = 88, overhead: int = 32) -> int:
    """``max_tokens`` of a reflection call that may return ``max_operations`` operations.

    An operation is about 40-80 tokens of JSON (its content is capped at 300 characters).
    """
    return overhead + per_operation * max(1, max_operations)


def score_tokens(batch_size: int) -> int:
    """``max_tokens`` of one importance-scoring call over ``batch_size`` messages."""
    return 32 + 12 * max(1, batch_size)
