"""Every model request of the product goes through here: bounded, retried once, adapted, repaired once.

The decisions live in ONE generator (:func:`_steps`), shared by the sync and async
drivers, which only differ in how they send a request and how they sleep:

1. A memory call skips an endpoint that is cooling down after a server error, and stops
   when the turn's request or time budget (:mod:`.turns`) is spent: its caller's fallback
   answers, without a request.
2. Each request carries ``max_tokens`` and a timeout (the turn's time left for inline
   work). On an OpenAI-compatible client the client's own retries are off
   (``max_retries=0``): this module is the one owner of retries.
3. A transient failure (429, 5xx, timeout) is retried ``policy.retries`` times with full
   jitter; if it persists the endpoint cools down for memory calls.
4. A structured method the server rejects is remembered for the endpoint and the next
   method is tried at once (:mod:`.structured`).
5. An answer that is not JSON, fails validation or is cut at ``max_tokens`` gets ONE
   repair request (the answer and the error sent back); any other 4xx is never re-sent.

A call ends with a :class:`CallResult` or raises :class:`~.failures.ModelCallError`; the
caller then uses its offline strategy and records the fallback (:func:`.stats.record`).

Example (a scripted model standing in for a server; see :mod:`.testing` for a real one):
    >>> from langmem_ext.long_term.testing import ScriptedChatModel
    >>> model = ScriptedChatModel(responses=["A short summary."])
    >>> call_text(model, [HumanMessage("Summarise: ...")], purpose="summary", max_tokens=64).value
    'A short summary.'
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import weakref
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langmem_ext.llm.endpoint import Endpoint, EndpointState, endpoint_of, state_of
from langmem_ext.llm.failures import Failure, ModelCallError, OutputError, classify, context_limit, describe
from langmem_ext.llm.policy import CallPolicy, default_policy
from langmem_ext.llm.stats import count_request, record
from langmem_ext.llm.structured import (
    Method,
    json_mode_instruction,
    method_order,
    parse_output,
    request_options,
)
from langmem_ext.llm.turns import TurnBudget, budget_for

__all__ = [
    "CallResult",
    "CallSpec",
    "acall_structured",
    "acall_text",
    "call_structured",
    "call_text",
]


@dataclass(frozen=True)
class CallSpec:
    """One call: what to send and how to check the answer.

    Attributes:
        purpose: ``"reply"``, ``"summary"``, ``"score"``, ``"reflection"`` (logs, stats).
        messages: The model input.
        max_tokens: The output bound sent with every request.
        schema: JSON schema of a structured answer (None: a text answer).
        name / description: Name and description of the structured answer.
        validate: Turns the parsed JSON into the caller's value; raises ``ValueError`` (or a
            pydantic ``ValidationError``) when it is unusable, which costs the one repair.
        memory: A memory call (budgets and cool-down apply); a reply always goes out.
        background: Sent from background work: waits until no foreground request is in flight.
        turn: The turn key whose budget the call spends (:func:`.turns.turn_key`).
        accept_cut: A text answer cut at ``max_tokens`` is still used (replies, summaries).
        want_message: ``value`` is the model's message itself (a reply: text or tool calls).
    """

    purpose: str
    messages: Sequence[BaseMessage]
    max_tokens: int
    schema: dict[str, Any] | None = None
    name: str = "answer"
    description: str = ""
    validate: Callable[[Any], Any] | None = None
    memory: bool = True
    background: bool = False
    turn: str | None = None
    accept_cut: bool = True
    want_message: bool = False


@dataclass
class CallResult:
    """A usable answer: the validated value, the requests it took, whether it was repaired."""

    value: Any
    requests: int
    repaired: bool = False
    method: str | None = None
    message: Any = None


@dataclass(frozen=True)
class _Request:
    messages: list[BaseMessage]
    options: dict[str, Any]
    method: Method | None
    max_tokens: int
    timeout: float


@dataclass(frozen=True)
class _Sleep:
    seconds: float


@dataclass
class _Context:
    spec: CallSpec
    endpoint: Endpoint
    state: EndpointState
    policy: CallPolicy
    budget: TurnBudget
    requests: int = 0
    rng: random.Random = field(default_factory=random.Random)


def _text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content or [])


def _read(ctx: _Context, method: Method | None, reply: Any) -> Any:
    """The caller's value from one answer, or an :class:`OutputError`."""
    spec = ctx.spec
    if method is None:
        if spec.want_message and getattr(reply, "tool_calls", None):
            return reply
        text = _text(reply).strip()
        finish = (getattr(reply, "response_metadata", None) or {}).get("finish_reason")
        if not text:
            raise OutputError("length" if finish == "length" else "empty", "the model returned no text")
        if finish == "length" and not spec.accept_cut:
            raise OutputError("length", "the answer was cut at max_tokens", raw=text)
        if spec.want_message:
            return reply
        return spec.validate(text) if spec.validate else text
    if method == "provider" and isinstance(reply, dict) and "raw" in reply:
        parsed = reply.get("parsed")
        value = parsed if parsed is not None else parse_output("json_mode", reply.get("raw"))
    else:
        value = parse_output(method, reply)
    if spec.validate is None:
        return value
    try:
        return spec.validate(value)
    except OutputError:
        raise
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        raise OutputError("invalid", f"the answer does not fit the schema: {describe(exc)}", raw=_raw(reply)) from exc


def _raw(reply: Any) -> str:
    if isinstance(reply, AIMessage):
        if reply.tool_calls:
            import json

            return json.dumps(reply.tool_calls[0]["args"])
        if reply.invalid_tool_calls:
            return str(reply.invalid_tool_calls[0].get("args") or "")
    if isinstance(reply, dict) and "raw" in reply:
        return _raw(reply["raw"])
    return _text(reply)


def _cut_text(exc: BaseException) -> str:
    """What a cut answer said before the limit (OpenAI's LengthFinishReasonError keeps it)."""
    completion = getattr(exc, "completion", None)
    try:
        message = completion.choices[0].message  # type: ignore[union-attr]
        calls = getattr(message, "tool_calls", None) or []
        return str(calls[0].function.arguments if calls else message.content or "")
    except (AttributeError, IndexError, TypeError):
        return ""


def _repair(messages: list[BaseMessage], error: OutputError, *, structured: bool) -> list[BaseMessage]:
    what = "ONE JSON object that matches the schema" if structured else "the answer"
    shorter = " Keep it shorter: the previous answer was cut at the length limit." if error.kind == "length" else ""
    return [
        *messages,
        AIMessage(error.raw[:2000] or "(empty)"),
        HumanMessage(f"That answer could not be used: {error}. Reply again with {what}.{shorter}"),
    ]


def _backoff(ctx: _Context, attempt: int) -> float:
    return ctx.rng.uniform(0, min(ctx.policy.backoff_cap, ctx.policy.backoff * 2 ** attempt))


def _fail(ctx: _Context, failure: Failure) -> ModelCallError:
    return ModelCallError(
        f"{ctx.spec.purpose} call to {ctx.endpoint.model} failed ({failure.kind}): {failure.cause}",
        failure=failure, requests=ctx.requests, model=ctx.endpoint.model,
    )


def _steps(ctx: _Context) -> Generator[_Request | _Sleep, Any, CallResult]:
    """The decisions of one call (see the module docstring); yields requests and sleeps."""
    spec, policy, state = ctx.spec, ctx.policy, ctx.state
    if spec.memory and state.cooling():
        raise _fail(ctx, Failure("transient", f"endpoint cooling down after: {state.down_cause}"))
    if spec.schema is None:
        methods: list[Method | None] = [None]
    else:
        methods = list(method_order(is_openai=ctx.endpoint.is_openai, openai_compatible=ctx.endpoint.is_openai_compatible,
                                    rejected=sorted(state.rejected)))
    repaired = False
    last: Failure | None = None
    for method in methods:
        messages = list(spec.messages)
        if method == "json_mode" and spec.schema is not None:
            messages = [json_mode_instruction(spec.schema), *messages]
        options = {} if method in (None, "provider") else request_options(
            method, name=spec.name, description=spec.description, schema=spec.schema or {},
            is_openai=ctx.endpoint.is_openai)
        transient = 0
        while True:
            if spec.memory and not ctx.budget.may_send():
                raise _fail(ctx, Failure(last.kind if last else "transient",
                                         f"the turn's memory request budget is spent (last: {last.cause if last else 'none'})"))
            timeout = policy.timeout
            if spec.memory and not spec.background:
                ctx.budget.start()
                timeout = min(timeout, ctx.budget.seconds_left())
                if timeout <= 0.05:
                    raise _fail(ctx, Failure("transient", "the turn's memory time budget is spent"))
            reply = yield _Request(messages, options, method, spec.max_tokens, timeout)
            ctx.requests += 1
            if isinstance(reply, BaseException) and classify(reply, method=method).kind in ("length", "empty"):
                failure = classify(reply, method=method)
                reply = OutputError(failure.kind, failure.cause, raw=_cut_text(reply))
            if isinstance(reply, BaseException) and not isinstance(reply, OutputError):
                ctx.budget.failed()
                failure = classify(reply, method=method)
                last = failure
                if failure.kind == "transient" and transient < policy.retries:
                    yield _Sleep(_backoff(ctx, transient))
                    transient += 1
                    continue
                if failure.kind == "rejected" and method not in (None, "provider"):
                    if not ctx.endpoint.is_openai:
                        state.reject(method)
                    break  # next method, at once
                if failure.kind == "overflow" and (limit := context_limit(failure.cause)):
                    state.context_window = limit
                if failure.kind == "transient" and spec.memory:
                    state.mark_down(policy.cooldown, failure.cause)
                raise _fail(ctx, failure)
            try:
                if isinstance(reply, OutputError):  # the client itself refused the answer (cut at max_tokens)
                    raise reply
                value = _read(ctx, method, reply)
            except OutputError as exc:
                ctx.budget.failed()
                last = classify(exc)
                if repaired:
                    raise _fail(ctx, last) from exc
                repaired = True
                messages = _repair(messages, exc, structured=method is not None)
                continue
            state.mark_up()
            return CallResult(value, ctx.requests, repaired, method, reply)
    raise _fail(ctx, last or Failure("rejected", "every structured-output method was rejected"))


# ---------------------------------------------------------------- preparing the model

_NO_RETRY: dict[int, tuple[weakref.ref[Any], Any]] = {}
_NO_RETRY_LOCK = threading.Lock()


def _without_client_retries(model: Any) -> Any:
    """A copy of a ChatOpenAI whose OpenAI clients never retry (this module retries)."""
    with _NO_RETRY_LOCK:
        cached = _NO_RETRY.get(id(model))
        if cached is not None and cached[0]() is model:
            return cached[1]
    copy = model.model_copy()
    copy.max_retries = 0
    if getattr(model, "root_client", None) is not None:
        copy.root_client = model.root_client.with_options(max_retries=0)
        copy.client = copy.root_client.chat.completions
    if getattr(model, "root_async_client", None) is not None:
        copy.root_async_client = model.root_async_client.with_options(max_retries=0)
        copy.async_client = copy.root_async_client.chat.completions
    with _NO_RETRY_LOCK:
        for key in [k for k, (ref, _) in _NO_RETRY.items() if ref() is None]:
            del _NO_RETRY[key]
        try:
            _NO_RETRY[id(model)] = (weakref.ref(model), copy)
        except TypeError:
            pass
    return copy


def _runnable(model: Any, ctx: _Context, request: _Request) -> Any:
    """``model`` bound to send ``request`` (max_tokens, timeout, structured options)."""
    if ctx.endpoint.is_openai_compatible:
        bound: dict[str, Any] = {}  # e.g. the tools of model.bind_tools(...)
        while hasattr(model, "bound") and isinstance(getattr(model, "kwargs", None), dict):
            bound = {**model.kwargs, **bound}
            model = model.bound
        base = _without_client_retries(model)
        kwargs: dict[str, Any] = {**bound, **request.options, "max_tokens": request.max_tokens,
                                  "timeout": request.timeout}
        if not ctx.endpoint.is_openai:  # ChatOpenAI sends max_completion_tokens; many servers read max_tokens
            kwargs["extra_body"] = {**(getattr(base, "extra_body", None) or {}), "max_tokens": request.max_tokens}
        return base.bind(**kwargs)
    bounded = model
    fields = getattr(type(model), "model_fields", {})
    for name in ("max_tokens", "num_predict", "max_output_tokens"):
        if name in fields:
            bounded = model.model_copy(update={name: request.max_tokens})
            break
    if request.method == "provider":
        return bounded.with_structured_output(ctx.spec.schema, include_raw=True)
    return bounded


def _context(model: Any, spec: CallSpec, policy: CallPolicy | None) -> _Context:
    policy = policy or default_policy()
    endpoint = endpoint_of(model)
    budget = budget_for(spec.turn, requests=policy.turn_requests, seconds=policy.turn_seconds)
    return _Context(spec, endpoint, state_of(endpoint), policy, budget)


def _finish(ctx: _Context, result: CallResult) -> CallResult:
    record(ctx.spec.purpose, "repaired" if result.repaired else "valid", model=ctx.endpoint.model)
    return result


def _wait_for_turn(ctx: _Context) -> None:
    if ctx.spec.background:
        ctx.state.wait_for_background_turn(concurrency=ctx.policy.background_concurrency, timeout=ctx.policy.timeout)


async def _await_turn(ctx: _Context) -> None:
    if ctx.spec.background:
        deadline = time.monotonic() + ctx.policy.timeout
        while not ctx.state.background_may_start(concurrency=ctx.policy.background_concurrency):
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)


def _run(model: Any, spec: CallSpec, policy: CallPolicy | None) -> CallResult:
    ctx = _context(model, spec, policy)
    steps = _steps(ctx)
    reply: Any = None
    try:
        while True:
            step = steps.send(reply)
            reply = None
            if isinstance(step, _Sleep):
                time.sleep(step.seconds)
                continue
            _wait_for_turn(ctx)
            runnable = _runnable(model, ctx, step)
            with ctx.state.in_flight(background=spec.background):
                count_request(spec.turn)
                try:
                    reply = runnable.invoke(step.messages)
                except Exception as exc:  # classified by the steps
                    reply = exc
    except StopIteration as stop:
        return _finish(ctx, stop.value)


async def _arun(model: Any, spec: CallSpec, policy: CallPolicy | None) -> CallResult:
    ctx = _context(model, spec, policy)
    steps = _steps(ctx)
    reply: Any = None
    try:
        while True:
            step = steps.send(reply)
            reply = None
            if isinstance(step, _Sleep):
                await asyncio.sleep(step.seconds)
                continue
            await _await_turn(ctx)
            runnable = _runnable(model, ctx, step)
            with ctx.state.in_flight(background=spec.background):
                count_request(spec.turn)
                try:
                    reply = await asyncio.wait_for(runnable.ainvoke(step.messages), step.timeout + 5)
                except Exception as exc:
                    reply = exc
    except StopIteration as stop:
        return _finish(ctx, stop.value)


def call_text(model: Any, messages: Sequence[BaseMessage], *, purpose: str, max_tokens: int,
              policy: CallPolicy | None = None, **options: Any) -> CallResult:
    """A text answer (``value`` is the text); options as in :class:`CallSpec`.

    Raises:
        ModelCallError: every allowed request failed; use the offline strategy.
    """
    return _run(model, CallSpec(purpose, list(messages), max_tokens, **options), policy)


async def acall_text(model: Any, messages: Sequence[BaseMessage], *, purpose: str, max_tokens: int,
                     policy: CallPolicy | None = None, **options: Any) -> CallResult:
    """Async :func:`call_text`."""
    return await _arun(model, CallSpec(purpose, list(messages), max_tokens, **options), policy)


def call_structured(model: Any, messages: Sequence[BaseMessage], *, purpose: str, schema: dict[str, Any],
                    max_tokens: int, policy: CallPolicy | None = None, **options: Any) -> CallResult:
    """A structured answer: ``value`` is ``validate(parsed JSON)`` (the JSON itself without ``validate``).

    Raises:
        ModelCallError: every allowed request and method failed; use the offline strategy.
    """
    return _run(model, CallSpec(purpose, list(messages), max_tokens, schema=schema, **options), policy)


async def acall_structured(model: Any, messages: Sequence[BaseMessage], *, purpose: str, schema: dict[str, Any],
                           max_tokens: int, policy: CallPolicy | None = None, **options: Any) -> CallResult:
    """Async :func:`call_structured`."""
    return await _arun(model, CallSpec(purpose, list(messages), max_tokens, schema=schema, **options), policy)
