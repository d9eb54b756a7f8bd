"""What went wrong with a model request, in a few kinds that decide what happens next.

:func:`classify` maps an exception from any LangChain chat model (the OpenAI client's
errors first of all) to a :class:`Failure`:

========== ============================================ =====================================
kind       examples                                     what the caller does
========== ============================================ =====================================
transient  429, 5xx, timeout, connection refused/reset  retry with backoff (the one policy)
rejected   the server does not support the structured   next structured-output method,
           method (``response_format`` / ``tools``)      remembered for the endpoint
overflow   the input is over the context window (400)   shrink the input or fall back
client     any other 4xx (bad key, bad request)         fall back, never re-send as is
length     the answer was cut at ``max_tokens``         one repair (shorter), then fall back
invalid    not JSON, or JSON that fails the schema      one repair, then fall back
empty      nothing usable came back                     fall back
========== ============================================ =====================================

Example:
    >>> classify(TimeoutError("read timed out")).kind
    'transient'
    >>> classify(ValueError("Input should be 'text' or 'json_object'"), method="json_schema").kind
    'rejected'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Failure", "FailureKind", "ModelCallError", "OutputError", "classify", "context_limit"]

FailureKind = Literal["transient", "rejected", "overflow", "client", "length", "invalid", "empty"]


@dataclass(frozen=True)
class Failure:
    """One failed request: its kind, HTTP status (if any) and a one-line cause."""

    kind: FailureKind
    cause: str
    status: int | None = None


class OutputError(ValueError):
    """The model answered, but not with what was asked (kind ``length``, ``invalid`` or ``empty``)."""

    def __init__(self, kind: FailureKind, message: str, *, raw: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.raw = raw


class ModelCallError(RuntimeError):
    """A model call failed after the retry policy, the structured-output methods and one repair.

    Attributes:
        failure: The last failure.
        requests: HTTP requests the call sent.
        model: The model's name.
    """

    def __init__(self, message: str, *, failure: Failure, requests: int, model: str) -> None:
        super().__init__(message)
        self.failure, self.requests, self.model = failure, requests, model


_OVERFLOW = re.compile(
    r"context[_ ]length|context window|maximum context|exceeds? the (available )?context|n_ctx|too many tokens|"
    r"prompt is too long|input tokens exceed|context size",
    re.I,
)
_REJECTED = re.compile(
    r"response_format|json_schema|'text' or 'json_object'|\bjson_object\b|tool_choice|\btools?\b.*(not supported|unsupported)|"
    r"(not supported|unsupported).*\btools?\b|grammar|structured output",
    re.I,
)
_TRANSIENT_WORDS = re.compile(
    r"rate.?limit|too many requests|timed? ?out|temporarily|overloaded|unavailable|try again|\b(429|500|502|503|504)\b",
    re.I,
)
_LIMIT = re.compile(r"(?:maximum context length is|n_ctx[\"'= :]*|context size[^0-9]{0,20}|context window of)\s*(\d{3,7})", re.I)


def _status(exc: BaseException) -> int | None:
    for attr in ("status_code", "http_status", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def _message(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        detail = inner.get("message") if isinstance(inner, dict) else inner
        if detail and str(detail) not in text:
            text = f"{text} {detail}"
    return " ".join(text.split())


def context_limit(message: str) -> int | None:
    """The context window a server named in an overflow error, if it did.

    Example:
        >>> context_limit("This model's maximum context length is 8192 tokens. However, ...")
        8192
    """
    match = _LIMIT.search(message)
    return int(match.group(1)) if match else None


def classify(exc: BaseException, *, method: str | None = None) -> Failure:
    """The :class:`Failure` behind ``exc`` (``method``: the structured method the request used)."""
    if isinstance(exc, OutputError):
        return Failure(exc.kind, str(exc)[:300])
    name = type(exc).__name__
    message = _message(exc)
    status = _status(exc)
    cause = f"{name}: {message}"[:300]
    if name == "LengthFinishReasonError":
        return Failure("length", "the answer was cut at max_tokens", status)
    if name in ("ContentFilterFinishReasonError",):
        return Failure("empty", cause, status)
    if "Overflow" in name or (status in (400, 413, 422, 500) and _OVERFLOW.search(message)):
        return Failure("overflow", cause, status)
    if method in ("json_schema", "function_calling", "json_mode") and status in (400, 404, 415, 422, 500, 501, None) \
            and _REJECTED.search(message) and not isinstance(exc, (TimeoutError, ConnectionError)):
        return Failure("rejected", cause, status)
    if isinstance(exc, (TimeoutError, ConnectionError)) or any(
        word in name for word in ("Timeout", "Connection", "RateLimit", "InternalServer", "ServiceUnavailable")
    ):
        return Failure("transient", cause, status)
    if status is not None:
        if status == 429 or status >= 500 or status == 408:
            return Failure("transient", cause, status)
        return Failure("client", cause, status)
    if name in ("ValidationError", "OutputParserException", "JSONDecodeError"):
        return Failure("invalid", cause, status)
    if _TRANSIENT_WORDS.search(message):  # a provider's error without a status: its words
        return Failure("transient", cause, status)
    if "api_key" in message.lower() or "apikey" in message.lower():
        return Failure("client", cause, status)
    return Failure("transient" if isinstance(exc, OSError) else "client", cause, status)


def describe(value: Any) -> str:
    """A short one-line description of a model output, for logs."""
    text = " ".join(str(value).split())
    return text if len(text) <= 120 else text[:119] + "…"
