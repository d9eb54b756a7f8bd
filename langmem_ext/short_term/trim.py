"""Trim a chat history to a token budget without ever breaking it.

Rules: the leading system messages (and the running summary) are kept; the kept part
starts on a human message; an AI message with tool calls stays with all its ToolMessages;
the latest human message is never dropped (even deep inside a tool loop: the tool
groups after it are kept newest first, as many as fit); no message is cut unless
``allow_partial``; orphan ToolMessages are dropped.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    >>> history = [SystemMessage("Be brief.")]
    >>> for i in range(10):
    ...     history += [HumanMessage(f"question {i} " * 20), AIMessage(f"answer {i} " * 20)]
    >>> kept = trim_history(history, max_tokens=200, tokenizer_model="gpt-4o-mini")
    >>> [m.type for m in kept]
    ['system', 'human', 'ai']
    >>> kept[1].content.startswith("question 9")
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from langmem_ext._options import check_positive, deprecated_options
from langmem_ext.messages import message_text
from langmem_ext.short_term.counting import MessageTokenCounter, TokenCounterLike, as_counter
from langmem_ext.short_term.messages import Unit, group_units, split_head

__all__ = ["ContextBudgetError", "trim_history", "select_suffix"]


class ContextBudgetError(ValueError):
    """What must be kept does not fit the token budget."""


def _unit_cost(unit: Unit, rest: Sequence[BaseMessage], counter: MessageTokenCounter) -> int:
    return sum(counter.count_message(rest[i]) for i in unit.indices)


def _truncate(message: BaseMessage, budget: int, counter: MessageTokenCounter) -> BaseMessage:
    """A copy of ``message`` keeping the longest start of its text that costs <= ``budget``."""
    def cut(n: int) -> BaseMessage:
        return message.model_copy(update={"content": " ".join(words[:n])})

    words = message_text(message).split(" ")
    if counter.count_message(cut(0)) > budget:
        raise ContextBudgetError(
            f"Even an empty {message.type} message does not fit the {budget} tokens left: raise max_tokens."
        )
    lo, hi = 0, len(words)
    while lo < hi:  # the largest n whose cut fits
        mid = (lo + hi + 1) // 2
        if counter.count_message(cut(mid)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return cut(lo)


def select_suffix(
    rest: Sequence[BaseMessage],
    units: Sequence[Unit],
    budget: int,
    counter: MessageTokenCounter,
) -> tuple[list[Unit], int] | None:
    """The units to keep from ``rest`` within ``budget`` tokens (see the module rules).

    Returns:
        ``(kept_units, tokens)`` in chronological order, or None when the latest human
        message alone is over budget. No human message at all gives ``([], 0)``.
    """
    usable = [u for u in units if u.kind in ("human", "ai", "tool_group", "other") and u.complete]
    last_h = max((k for k, u in enumerate(usable) if u.kind == "human"), default=None)
    if last_h is None:
        return [], 0
    cost = _unit_cost(usable[last_h], rest, counter)
    if cost > budget:
        return None
    left = budget - cost
    tail: list[Unit] = []
    for unit in reversed(usable[last_h + 1 :]):
        c = _unit_cost(unit, rest, counter)
        if c > left:
            return [usable[last_h], *reversed(tail)], budget - left
        tail.append(unit)
        left -= c
    before: list[Unit] = []
    spent_before: list[int] = []
    for unit in reversed(usable[:last_h]):
        c = _unit_cost(unit, rest, counter)
        if c > left:
            break
        before.append(unit)
        spent_before.append(c)
        left -= c
    before.reverse()
    spent_before.reverse()
    while before and before[0].kind != "human":
        before.pop(0)
        left += spent_before.pop(0)
    return [*before, usable[last_h], *reversed(tail)], budget - left


def trim_history(
    messages: Sequence[BaseMessage],
    *,
    max_tokens: int,
    token_counter: MessageTokenCounter | TokenCounterLike | None = None,
    tokenizer_model: str | None = None,
    keep_system: bool = True,
    allow_partial: bool = False,
    **deprecated: Any,
) -> list[BaseMessage]:
    """The most recent part of ``messages`` that fits ``max_tokens`` (input untouched).

    Args:
        messages: the history, oldest first.
        max_tokens: budget for the whole request (system messages and reply priming included).
        token_counter: a :class:`MessageTokenCounter` (reuse one across turns for its
            cache) or a LangChain-style counter; default: tiktoken for ``tokenizer_model``.
        tokenizer_model: model name for the default counter (default ``gpt-4o-mini``;
            ``model=`` is its deprecated name).
        keep_system: keep the leading system messages and the running summary.
        allow_partial: cut the latest human message's text to fit instead of raising.

    Raises:
        ContextBudgetError: when the system messages, or the latest human message, do
            not fit ``max_tokens`` (and ``allow_partial`` is off).
    """
    tokenizer_model = deprecated_options("trim_history", deprecated, {"model": "tokenizer_model"},
                                         tokenizer_model=tokenizer_model)["tokenizer_model"]
    check_positive("trim_history", max_tokens=max_tokens)
    counter = as_counter(token_counter, tokenizer_model=tokenizer_model)
    head, rest = split_head(messages)
    if not keep_system:
        head = []
    head_cost = sum(counter.count_message(m) for m in head)
    budget = max_tokens - head_cost - counter.reply_priming
    if budget < 0:
        raise ContextBudgetError(
            f"The system messages alone take {head_cost + counter.reply_priming} tokens, over max_tokens={max_tokens}: "
            "raise max_tokens, or shorten the system prompt, the memory block (RecallNode(max_tokens=...)) or the "
            "running summary (max_summary_tokens=)."
        )
    units = group_units(rest)
    picked = select_suffix(rest, units, budget, counter)
    if picked is None:
        last_human = max(i for i, m in enumerate(rest) if m.type == "human")
        need = counter.count_message(rest[last_human])
        if not allow_partial:
            raise ContextBudgetError(
                f"The latest human message ({rest[last_human].id or 'no id'}) takes {need} tokens, more than the "
                f"{budget} left of max_tokens={max_tokens}: raise max_tokens, or pass allow_partial=True to cut it."
            )
        return [*head, _truncate(rest[last_human], budget, counter)]
    kept, _ = picked
    return [*head, *(rest[i] for unit in kept for i in unit.indices)]
