"""The summary's model call: sized to the context window, bounded, and never the end of a thread.

:func:`summary_text` / :func:`asummary_text` return the new summary text for a
:class:`~langmem_ext.short_term.summarize.SummaryPlan`:

* The request is sized to the model's context window (:mod:`langmem_ext.llm.window`):
  when the previous summary and the overflowing messages do not fit, the oldest messages
  are first folded into the previous summary extractively, chunk by chunk, and the model
  writes the summary from that and the newest messages that fit.
* The call sends ``max_tokens`` = 1.5x the summary budget and goes through the one retry
  policy (:mod:`langmem_ext.llm.call`).
* When the call fails (server error, timeout, empty answer, the turn's budget spent) the
  extractive summary answers instead, logged in one line: a failing or overflowing model
  never makes every later turn of the thread fail.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> from langmem_ext.short_term.counting import MessageTokenCounter
    >>> msgs = [HumanMessage(f"My cat number {i} is called Tom{i}.", id=f"h{i}") for i in range(40)]
    >>> text, calls = fold_extractively("", msgs, max_tokens=60, counter=MessageTokenCounter())
    >>> calls, "Tom" in text
    (0, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from langchain_core.messages import BaseMessage

from langmem_ext.llm import ModelCallError, acall_text, call_text, record, summary_tokens, turn_key
from langmem_ext.llm.endpoint import endpoint_of
from langmem_ext.llm.window import context_window, input_budget
from langmem_ext.short_term.counting import MessageTokenCounter
from langmem_ext.short_term.extractive import extractive_summary

__all__ = ["CHUNK_MESSAGES", "asummary_text", "fold_extractively", "summary_request", "summary_text"]

Render = Callable[[Any], list[BaseMessage]]

CHUNK_MESSAGES = 40
"""Messages the extractive summary reads at a time (its cost grows with the square of its input)."""


def fold_extractively(previous: str, messages: Sequence[BaseMessage], *, max_tokens: int,
                      counter: MessageTokenCounter) -> tuple[str, int]:
    """``previous`` with ``messages`` folded in extractively, ``CHUNK_MESSAGES`` at a time; (text, 0 calls)."""
    text = previous
    for start in range(0, len(messages), CHUNK_MESSAGES):
        chunk = messages[start:start + CHUNK_MESSAGES]
        text = extractive_summary(text, chunk, max_tokens=max_tokens, count_tokens=counter.text_tokens) or text
    return text, 0


def summary_request(plan: Any, *, render: Render, max_summary_tokens: int, counter: MessageTokenCounter,
                    window: int) -> tuple[list[BaseMessage] | None, Any]:
    """The request that fits ``window`` (None if none does) and the plan it summarises.

    Messages that do not fit are folded extractively into the plan's previous summary first.
    ``render(plan)`` writes the request of a plan (``summarize.summary_prompt`` with the prompt).
    """
    room = input_budget(window, max_tokens=summary_tokens(max_summary_tokens))
    messages = list(plan.to_summarize)
    previous = plan.previous.text if plan.previous else ""
    cut = 0
    while cut <= len(messages):
        head = messages[:cut]
        prev = fold_extractively(previous, head, max_tokens=max_summary_tokens, counter=counter)[0] if head else previous
        trial = replace(plan, to_summarize=messages[cut:], previous=SimpleNamespace(text=prev) if prev else None)
        request = render(trial)
        if counter(request) <= room:
            return request, trial
        step = max(1, (len(messages) - cut) // 4)
        cut += step
    return None, plan


def _fallback(plan: Any, *, model: Any, cause: str, max_summary_tokens: int, counter: MessageTokenCounter) -> str:
    record("summary", "fallback", model=endpoint_of(model).model, cause=cause, fallback="the extractive summary",
           count=len(plan.to_summarize))
    previous = plan.previous.text if plan.previous else ""
    return fold_extractively(previous, plan.to_summarize, max_tokens=max_summary_tokens, counter=counter)[0]


def _prepared(plan: Any, model: Any, render: Render, max_summary_tokens: int, counter: MessageTokenCounter):
    request, _ = summary_request(plan, render=render, max_summary_tokens=max_summary_tokens, counter=counter,
                                 window=context_window(model))
    options = {"purpose": "summary", "max_tokens": summary_tokens(max_summary_tokens),
               "turn": turn_key([*plan.to_summarize, *plan.kept])}
    return request, options


def _failed(plan: Any, model: Any, exc: ModelCallError | None, *, max_summary_tokens: int,
            counter: MessageTokenCounter) -> tuple[str, int]:
    cause = f"{exc.failure.kind}: {exc.failure.cause}" if exc else "overflow: the request cannot fit the context window"
    text = _fallback(plan, model=model, cause=cause, max_summary_tokens=max_summary_tokens, counter=counter)
    return text, exc.requests if exc else 0


def summary_text(plan: Any, *, model: Any, render: Render, max_summary_tokens: int,
                 counter: MessageTokenCounter) -> tuple[str, int]:
    """The new summary text for ``plan`` and the model requests it took (see module docstring)."""
    request, options = _prepared(plan, model, render, max_summary_tokens, counter)
    try:
        if request is not None:
            result = call_text(model, request, **options)
            return str(result.value), result.requests
    except ModelCallError as exc:
        return _failed(plan, model, exc, max_summary_tokens=max_summary_tokens, counter=counter)
    return _failed(plan, model, None, max_summary_tokens=max_summary_tokens, counter=counter)


async def asummary_text(plan: Any, *, model: Any, render: Render, max_summary_tokens: int,
                        counter: MessageTokenCounter) -> tuple[str, int]:
    """Async :func:`summary_text`."""
    request, options = _prepared(plan, model, render, max_summary_tokens, counter)
    try:
        if request is not None:
            result = await acall_text(model, request, **options)
            return str(result.value), result.requests
    except ModelCallError as exc:
        return _failed(plan, model, exc, max_summary_tokens=max_summary_tokens, counter=counter)
    return _failed(plan, model, None, max_summary_tokens=max_summary_tokens, counter=counter)
