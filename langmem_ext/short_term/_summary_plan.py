"""The running summary's pure core: what to fold in, the request, and the result (no I/O).

* :class:`RunningSummary`: the summary kept in graph state;
* :func:`plan_summary`: which new messages overflow (a :class:`SummaryPlan`);
* :func:`summary_prompt`: the one request that folds them into the previous summary;
* :func:`apply_summary`: the model input and the new state from the summary text
  (a :class:`SummaryResult`).

:mod:`langmem_ext.short_term.summarize` adds the checked options and the model call, and is
where to import these from.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> from langmem_ext.short_term.counting import MessageTokenCounter
    >>> history = [HumanMessage("I live in Porto.", id="h1"), AIMessage("Noted.", id="a1"),
    ...            HumanMessage("And my dog is Rex.", id="h2")]
    >>> plan = plan_summary(history, counter=MessageTokenCounter(), trigger_messages=2, keep_messages=1)
    >>> [m.id for m in plan.to_summarize], [m.id for m in plan.kept]
    (['h1', 'a1'], ['h2'])
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from langmem_ext.prompts import DEFAULT_SUMMARY_PROMPT, SUMMARY_MESSAGE_PREFIX
from langmem_ext.messages import message_text
from langmem_ext.short_term.counting import MessageTokenCounter
from langmem_ext.short_term.extractive import speaker
from langmem_ext.short_term.messages import SUMMARY_MESSAGE_ID, group_units, is_summary_message, split_head
from langmem_ext.short_term.trim import select_suffix

__all__ = [
    "RunningSummary",
    "SummaryPlan",
    "SummaryResult",
    "apply_summary",
    "format_transcript",
    "plan_summary",
    "summary_message",
    "summary_prompt",
]

# The summariser's log lines keep the name they had before this module was split off.
logger = logging.getLogger("langmem_ext.short_term.summarize")


class RunningSummary(BaseModel):
    """The summary of everything that left the window, kept in graph state."""

    text: str = Field(default="", description="The summary text.")
    covered_ids: list[str] = Field(default_factory=list, description="Ids of the messages folded into it.")
    covered_tokens: int = Field(default=0, description="Tokens of those messages when they were folded in.")
    summary_tokens: int = Field(default=0, description="Tokens of the summary message.")
    updates: int = Field(default=0, description="How many times it was updated.")

    @classmethod
    def coerce(cls, value: Any) -> RunningSummary | None:
        """Accept a RunningSummary, its ``model_dump()``, or None."""
        if value is None or isinstance(value, RunningSummary):
            return value
        if isinstance(value, dict):
            return cls.model_validate(value)
        raise TypeError(f"running summary must be a RunningSummary or a dict, got {type(value).__name__}.")


@dataclass
class SummaryPlan:
    """What a summarisation step would do (pure, no model call)."""

    head: list[BaseMessage]
    to_summarize: list[BaseMessage]
    kept: list[BaseMessage]
    previous: RunningSummary | None
    triggered: bool


@dataclass
class SummaryResult:
    """Model input after summarisation, and the state to store."""

    messages: list[BaseMessage]
    running_summary: RunningSummary | None
    summarized: list[BaseMessage] = field(default_factory=list)
    llm_calls: int = 0


def summary_message(text: str) -> SystemMessage:
    """The message that carries the running summary (placed right after the system prompt)."""
    return SystemMessage(SUMMARY_MESSAGE_PREFIX + text, id=SUMMARY_MESSAGE_ID)


def format_transcript(messages: Sequence[BaseMessage]) -> str:
    """``Speaker: text`` lines, tool calls shown with their arguments."""
    lines = []
    for m in messages:
        text = message_text(m).strip()
        if text:
            lines.append(f"{speaker(m)}: {text}")
        if isinstance(m, AIMessage):
            lines += [f"{speaker(m)} called {c['name']}({c['args']})" for c in m.tool_calls]
    return "\n".join(lines)


def plan_summary(
    messages: Sequence[BaseMessage],
    *,
    running_summary: RunningSummary | dict | None = None,
    counter: MessageTokenCounter,
    trigger_tokens: int | None = None,
    trigger_messages: int | None = None,
    keep_tokens: int | None = None,
    keep_messages: int | None = None,
    max_summary_tokens: int = 256,
    max_tokens: int | None = None,
) -> SummaryPlan:
    """Decide which new messages overflow (see :func:`summarize_history` for the options).

    With ``max_tokens``, the kept messages fit what it leaves after the system messages and
    a summary; when even the latest human message does not, it is kept whole anyway (a
    summary never fails a turn; a WARNING names the fix: a ``TrimNode(allow_partial=True)``
    after the summariser makes the budget hard).
    """
    if trigger_tokens is None and trigger_messages is None:
        raise ValueError("Give a trigger: trigger_tokens, trigger_messages and/or trigger_fraction.")
    previous = RunningSummary.coerce(running_summary)
    covered = set(previous.covered_ids) if previous else set()
    head, rest = split_head(messages)
    head = [m for m in head if not is_summary_message(m)]
    rest = [m for m in rest if not (m.id and m.id in covered) and not is_summary_message(m)]
    current = [*head, summary_message(previous.text)] if previous and previous.text else head
    total = counter([*current, *rest])
    triggered = (trigger_tokens is not None and total > trigger_tokens) or (
        trigger_messages is not None and len(rest) > trigger_messages
    )
    if not triggered:
        return SummaryPlan(head, [], rest, previous, False)
    units = group_units(rest)
    if keep_tokens is None:
        limit = trigger_tokens if trigger_tokens is not None else total
        keep_tokens = max(1, (limit - counter(head) - max_summary_tokens) // 2)
    if max_tokens is not None:
        keep_tokens = min(keep_tokens, _room(head, max_tokens, max_summary_tokens, counter))
    picked = select_suffix(rest, units, keep_tokens, counter)
    if picked is None:  # the latest human message alone is over keep_tokens: keep just it
        last_h = max(k for k, u in enumerate(units) if u.kind == "human")
        kept_units = [units[last_h]]
        need = sum(counter.count_message(rest[i]) for i in units[last_h].indices)
        if max_tokens is not None and need > _room(head, max_tokens, max_summary_tokens, counter):
            logger.warning(
                "The latest human message takes %d tokens, more than max_tokens=%d leaves after the system messages "
                "and a summary of up to %d tokens; it is kept whole, over the budget. Raise max_tokens, or put "
                "TrimNode(allow_partial=True) after the summariser.", need, max_tokens, max_summary_tokens,
            )
    else:
        kept_units = picked[0]
    if keep_messages is not None and kept_units:
        kept_units = _limit_messages(kept_units, keep_messages)
    kept_idx = {i for u in kept_units for i in u.indices}
    kept = [m for i, m in enumerate(rest) if i in kept_idx]
    dropped = [m for i, m in enumerate(rest) if i not in kept_idx and not _pending(units, i)]
    return SummaryPlan(head, dropped, kept, previous, bool(dropped))


def _room(head: Sequence[BaseMessage], max_tokens: int, max_summary_tokens: int, counter: MessageTokenCounter) -> int:
    """Tokens of ``max_tokens`` left for the kept messages after the head and the longest summary (>= 1)."""
    summary_cost = counter.count_message(summary_message("")) + max_summary_tokens + 1
    return max(1, max_tokens - sum(counter.count_message(m) for m in head) - summary_cost - counter.reply_priming)


def _limit_messages(kept_units: list[Any], keep_messages: int) -> list[Any]:
    """Drop the oldest kept units down to ``keep_messages``, never the latest human one."""
    h = max(k for k, u in enumerate(kept_units) if u.kind == "human")
    before, human, tail = list(kept_units[:h]), kept_units[h], list(kept_units[h + 1 :])
    total = sum(len(u.indices) for u in kept_units)
    while before and total > keep_messages:
        total -= len(before.pop(0).indices)
    while before and before[0].kind != "human":
        total -= len(before.pop(0).indices)
    while tail and total > keep_messages:
        total -= len(tail.pop(0).indices)
    return [*before, human, *tail]


def _pending(units: Sequence[Any], i: int) -> bool:
    return any(i in u.indices and not u.complete for u in units)


def summary_prompt(
    plan: SummaryPlan, *, prompt: str = DEFAULT_SUMMARY_PROMPT, max_summary_tokens: int = 256
) -> list[BaseMessage]:
    """The one request that folds ``plan.to_summarize`` into the previous summary."""
    text = prompt.format(
        existing_summary=plan.previous.text if plan.previous else "",
        messages=format_transcript(plan.to_summarize),
        max_words=max(1, max_summary_tokens * 3 // 4),
    )
    return [HumanMessage(text)]


def _fit(text: str, max_tokens: int, counter: MessageTokenCounter) -> str:
    """Cut ``text`` at a line, then word, boundary so that it takes <= ``max_tokens``."""
    if counter.text_tokens(text) <= max_tokens:
        return text
    words = text.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if counter.text_tokens(" ".join(words[:mid])) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def apply_summary(plan: SummaryPlan, text: str | None, *, counter: MessageTokenCounter, max_summary_tokens: int) -> SummaryResult:
    """Fold the new summary ``text`` (None: nothing was summarised) into the result."""
    previous = plan.previous
    if text is None:
        current = [summary_message(previous.text)] if previous and previous.text else []
        return SummaryResult([*plan.head, *current, *plan.kept], previous)
    text = _fit(text.strip(), max_summary_tokens, counter)
    message = summary_message(text)
    summary = RunningSummary(
        text=text,
        covered_ids=[*(previous.covered_ids if previous else []), *(m.id for m in plan.to_summarize if m.id)],
        covered_tokens=(previous.covered_tokens if previous else 0)
        + sum(counter.count_message(m) for m in plan.to_summarize),
        summary_tokens=counter.count_message(message),
        updates=(previous.updates if previous else 0) + 1,
    )
    return SummaryResult([*plan.head, message, *plan.kept], summary, list(plan.to_summarize))

