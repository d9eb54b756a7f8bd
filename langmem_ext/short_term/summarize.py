"""Running summary: fold only the newly overflowing messages into the previous summary.

The pure core (:func:`plan_summary`, :func:`summary_prompt`, :func:`apply_summary`) does no
I/O and is written in :mod:`langmem_ext.short_term._summary_plan` (imported from here);
this module holds the checked options (:func:`summarizer`, :func:`summary_options`) and
the runs: :func:`summarize_history` and :func:`asummarize_history` only add the model call.
With ``model=None`` the summary is extractive (see :mod:`.extractive`), never canned text.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    >>> history = [SystemMessage("Be brief.", id="s")]
    >>> for i in range(12):
    ...     history += [HumanMessage(f"My pet number {i} is called Rex{i}.", id=f"h{i}"),
    ...                 AIMessage(f"Noted, pet {i} is Rex{i}.", id=f"a{i}")]
    >>> result = summarize_history(history, model=None, trigger_tokens=300, keep_tokens=100)
    >>> [m.type for m in result.messages][:3]
    ['system', 'system', 'human']
    >>> len(result.running_summary.covered_ids), result.llm_calls
    (18, 0)
    >>> again = summarize_history(history, model=None, running_summary=result.running_summary,
    ...                           trigger_tokens=300, keep_tokens=100)
    >>> again.messages == result.messages, again.summarized
    (True, [])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from typing_extensions import TypedDict, Unpack

from langchain_core.messages import BaseMessage

from langmem_ext.prompts import DEFAULT_SUMMARY_PROMPT
from langmem_ext._options import check_non_negative, check_positive
# The pure core (plan, request, result) lives in its own module; this module stays its public home.
from langmem_ext.short_term._summary_plan import (
    RunningSummary,
    SummaryPlan,
    SummaryResult,
    apply_summary,
    format_transcript,
    plan_summary,
    summary_message,
    summary_prompt,
)
from langmem_ext.short_term.counting import MessageTokenCounter, TokenCounterLike, as_counter
from langmem_ext.short_term.extractive import extractive_summary

__all__ = [
    "RunningSummary",
    "SummarizationError",
    "SummaryPlan",
    "SummaryOptions",
    "SummaryResult",
    "Summarizer",
    "apply_summary",
    "arun_plan",
    "asummarize_history",
    "format_transcript",
    "plan_summary",
    "run_plan",
    "summarize_history",
    "summarizer",
    "summary_message",
    "summary_options",
    "summary_prompt",
]


class SummarizationError(RuntimeError):
    """Deprecated: no longer raised. A failing summary call now falls back to the extractive
    summary (logged in one line), so a failing model never stops a turn."""


def _profile_window(model: Any) -> int | None:
    profile = getattr(model, "profile", None)
    return profile.get("max_input_tokens") if isinstance(profile, dict) else None


@dataclass(frozen=True)
class Summarizer:
    """Checked summariser options and the steps that use them (built by :func:`summarizer`).

    The functions, :class:`~langmem_ext.short_term.nodes.SummarizationNode` and
    :class:`~langmem_ext.short_term.middleware.SummaryMiddleware` all run through one of
    these: :meth:`plan` is pure, :meth:`run` / :meth:`arun` add at most one model call.

    Example:
        >>> s = summarizer(model=None, trigger_messages=3, keep_messages=1)
        >>> (s.trigger_tokens, s.trigger_messages, s.keep_messages, s.max_summary_tokens)
        (None, 3, 1, 256)
        >>> summarizer(model=None, max_tokens=1000).trigger_tokens  # the trigger defaults to the output budget
        1000
    """

    model: Any
    prompt: str
    counter: MessageTokenCounter
    trigger_tokens: int | None
    trigger_messages: int | None
    keep_tokens: int | None
    keep_messages: int | None
    max_summary_tokens: int
    max_tokens: int | None = None

    def plan(self, messages: Sequence[BaseMessage], running_summary: RunningSummary | dict | None = None) -> SummaryPlan:
        """:func:`plan_summary` with these options."""
        return plan_summary(
            messages, running_summary=running_summary, counter=self.counter, trigger_tokens=self.trigger_tokens,
            trigger_messages=self.trigger_messages, keep_tokens=self.keep_tokens, keep_messages=self.keep_messages,
            max_summary_tokens=self.max_summary_tokens, max_tokens=self.max_tokens,
        )

    def run(self, plan: SummaryPlan) -> SummaryResult:
        """:func:`run_plan` with these options."""
        return run_plan(plan, model=self.model, prompt=self.prompt, counter=self.counter,
                        max_summary_tokens=self.max_summary_tokens)

    async def arun(self, plan: SummaryPlan) -> SummaryResult:
        """:func:`arun_plan` with these options."""
        return await arun_plan(plan, model=self.model, prompt=self.prompt, counter=self.counter,
                               max_summary_tokens=self.max_summary_tokens)

    def softened(self, at: float) -> Summarizer:
        """The same options with the triggers lowered to ``at`` x trigger (background mode)."""
        if not 0 < at < 1:
            raise ValueError(f"background_at must be between 0 and 1, got {at}.")
        soft: dict[str, Any] = {}
        for trigger, keep in (("trigger_tokens", "keep_tokens"), ("trigger_messages", "keep_messages")):
            value, kept = getattr(self, trigger), getattr(self, keep)
            if value is not None:
                soft[trigger] = max(1, int(value * at))
                if kept is not None and kept >= soft[trigger]:
                    raise ValueError(
                        f"{keep}={kept} must be below background_at x {trigger} ({soft[trigger]}): "
                        f"lower {keep} or raise background_at."
                    )
        return replace(self, **soft)


def summarizer(
    *,
    model: Any = None,
    prompt: str = DEFAULT_SUMMARY_PROMPT,
    max_tokens: int | None = None,
    trigger_tokens: int | None = None,
    trigger_messages: int | None = None,
    trigger_fraction: float | None = None,
    context_window: int | None = None,
    keep_tokens: int | None = None,
    keep_messages: int | None = None,
    max_summary_tokens: int = 256,
    token_counter: MessageTokenCounter | TokenCounterLike | None = None,
    tokenizer_model: str | None = None,
) -> Summarizer:
    """Check the options of :func:`summarize_history` once and bind them to ``model``.

    Raises:
        ValueError: a value out of range, or a bad combination (keep at or over its
            trigger, a trigger over ``max_tokens``, a fraction without a context window);
            the message names the fix.
    """
    check_positive("summarizer", max_tokens=max_tokens, trigger_tokens=trigger_tokens,
                   trigger_messages=trigger_messages, trigger_fraction=trigger_fraction, context_window=context_window,
                   keep_tokens=keep_tokens, max_summary_tokens=max_summary_tokens)
    check_non_negative("summarizer", keep_messages=keep_messages)
    counter = as_counter(token_counter, tokenizer_model=tokenizer_model)
    if max_tokens is not None:
        if trigger_tokens is not None and trigger_tokens > max_tokens:
            raise ValueError(
                f"trigger_tokens ({trigger_tokens}) must not exceed max_tokens ({max_tokens}): an input between the two "
                "would pass through over budget. Lower trigger_tokens or leave it out (it defaults to max_tokens)."
            )
        trigger_tokens = trigger_tokens if trigger_tokens is not None else max_tokens
    if trigger_fraction is not None:
        if not 0 < trigger_fraction <= 1:
            raise ValueError(f"summarizer: trigger_fraction must be within (0, 1], got {trigger_fraction!r}.")
        window = context_window or _profile_window(model)
        if not window:
            raise ValueError("trigger_fraction needs context_window=... (the model has no profile with max_input_tokens).")
        by_fraction = int(trigger_fraction * window)
        trigger_tokens = min(trigger_tokens or by_fraction, by_fraction)
    if trigger_tokens is not None and keep_tokens is not None and keep_tokens >= trigger_tokens:
        raise ValueError(
            f"keep_tokens ({keep_tokens}) must be below trigger_tokens ({trigger_tokens}), or every turn would summarise."
        )
    if trigger_messages is not None and keep_messages is not None and keep_messages >= trigger_messages:
        raise ValueError(f"keep_messages ({keep_messages}) must be below trigger_messages ({trigger_messages}).")
    return Summarizer(model, prompt, counter, trigger_tokens, trigger_messages, keep_tokens, keep_messages,
                      max_summary_tokens, max_tokens)


class SummaryOptions(TypedDict, total=False):
    """The summariser options of ``SummarizationNode`` and ``SummaryMiddleware`` (keywords).

    Give ``max_tokens`` or at least one trigger; summarisation starts when any trigger is exceeded.
    """

    max_tokens: int | None
    """The most tokens the node outputs (its model input); the token trigger defaults to it."""
    trigger_tokens: int | None
    """Summarise when the input exceeds this many tokens (default ``max_tokens``)."""
    trigger_messages: int | None
    """... or when more than this many messages are not yet summarised."""
    trigger_fraction: float | None
    """... or when the input exceeds this share of ``context_window`` (default: the model profile's ``max_input_tokens``)."""
    context_window: int | None
    """The model's input window, for ``trigger_fraction``."""
    keep_tokens: int | None
    """Tokens of recent messages kept verbatim (default: half of what the trigger leaves)."""
    keep_messages: int | None
    """At most this many recent messages kept verbatim."""
    max_summary_tokens: int
    """Length cap of the summary (256)."""
    token_counter: MessageTokenCounter | TokenCounterLike | None
    """A :class:`MessageTokenCounter` or LangChain-style counter."""
    tokenizer_model: str | None
    """Model name for token counting (default ``gpt-4o-mini``)."""


def summary_options(owner: str, model: Any, *, prompt: str, **options: Unpack[SummaryOptions]) -> Summarizer:
    """The :class:`Summarizer` for a node or middleware named ``owner``, checked at construction.

    Example:
        >>> summary_options("MyNode", None, prompt="{messages}", max_tokens=500).trigger_tokens
        500
        >>> summary_options("MyNode", None, prompt="{messages}")
        Traceback (most recent call last):
        ...
        ValueError: Give MyNode a budget or a trigger: max_tokens=, trigger_tokens=, trigger_messages= and/or trigger_fraction=.

    Raises:
        TypeError: an unknown option (the message lists the known ones).
        ValueError: no trigger, or a bad combination (see :func:`summarizer`).
    """
    unknown = sorted(set(options) - set(SummaryOptions.__annotations__))
    if unknown:
        raise TypeError(f"{owner} got unknown option(s) {unknown}; the summary options are {sorted(SummaryOptions.__annotations__)}.")
    opts: dict[str, Any] = dict(options)
    if all(opts.get(k) is None for k in ("max_tokens", "trigger_tokens", "trigger_messages", "trigger_fraction")):
        raise ValueError(
            f"Give {owner} a budget or a trigger: max_tokens=, trigger_tokens=, trigger_messages= and/or trigger_fraction="
            "."
        )
    try:
        return summarizer(model=model, prompt=prompt, **opts)
    except ValueError as exc:
        raise ValueError(str(exc).replace("summarizer:", f"{owner}:")) from None


def summarize_history(
    messages: Sequence[BaseMessage],
    *,
    model: Any = None,
    running_summary: RunningSummary | dict | None = None,
    prompt: str = DEFAULT_SUMMARY_PROMPT,
    **options: Any,
) -> SummaryResult:
    """Summarise what overflows, with one model call (or offline with ``model=None``).

    Args:
        messages: the history (messages already covered by ``running_summary`` are skipped).
        model: a chat model or Runnable returning the summary; None: extractive summary.
        running_summary: the previous summary from state.
        prompt: template with ``{existing_summary}``, ``{messages}``, ``{max_words}``.
        **options: ``trigger_tokens``, ``trigger_messages``, ``trigger_fraction`` (with
            ``context_window`` or a model profile), any combination: summarise when any is
            exceeded; ``max_tokens``: the most tokens of the result (the token trigger
            defaults to it); ``keep_tokens`` / ``keep_messages``: recent part kept verbatim;
            ``max_summary_tokens`` (256); ``token_counter`` / ``tokenizer_model``.

    A model that fails (or whose context the request would overflow) is replaced by the
    extractive summary for that call, logged in one line.
    """
    s = summarizer(model=model, prompt=prompt, **options)
    return s.run(s.plan(messages, running_summary))


def run_plan(
    plan: SummaryPlan, *, model: Any, prompt: str, counter: MessageTokenCounter, max_summary_tokens: int
) -> SummaryResult:
    """Carry out ``plan``: one model call (or the extractive summary) if it triggered.

    The call is sized to the model's context window and falls back to the extractive
    summary when it fails (:mod:`~langmem_ext.short_term.summary_call`).
    """
    if not plan.triggered:
        return apply_summary(plan, None, counter=counter, max_summary_tokens=max_summary_tokens)
    if model is None:
        return apply_summary(plan, _extractive(plan, counter, max_summary_tokens), counter=counter,
                             max_summary_tokens=max_summary_tokens)
    from langmem_ext.short_term.summary_call import summary_text

    text, calls = summary_text(plan, model=model, render=_renderer(prompt, max_summary_tokens),
                               max_summary_tokens=max_summary_tokens, counter=counter)
    return _applied(plan, text, calls, counter=counter, max_summary_tokens=max_summary_tokens)


async def arun_plan(
    plan: SummaryPlan, *, model: Any, prompt: str, counter: MessageTokenCounter, max_summary_tokens: int
) -> SummaryResult:
    """Async :func:`run_plan` (only the model call differs)."""
    if not plan.triggered or model is None:
        return run_plan(plan, model=None, prompt=prompt, counter=counter, max_summary_tokens=max_summary_tokens)
    from langmem_ext.short_term.summary_call import asummary_text

    text, calls = await asummary_text(plan, model=model, render=_renderer(prompt, max_summary_tokens),
                                      max_summary_tokens=max_summary_tokens, counter=counter)
    return _applied(plan, text, calls, counter=counter, max_summary_tokens=max_summary_tokens)


def _renderer(prompt: str, max_summary_tokens: int) -> Any:
    return lambda plan: summary_prompt(plan, prompt=prompt, max_summary_tokens=max_summary_tokens)


def _extractive(plan: SummaryPlan, counter: MessageTokenCounter, max_summary_tokens: int) -> str:
    prev = plan.previous.text if plan.previous else ""
    text = extractive_summary(prev, plan.to_summarize, max_tokens=max_summary_tokens, count_tokens=counter.text_tokens)
    return text or prev or format_transcript(plan.to_summarize) or "(the earlier messages had no text)"


def _applied(plan: SummaryPlan, text: str, calls: int, *, counter: MessageTokenCounter,
             max_summary_tokens: int) -> SummaryResult:
    text = text.strip() or _extractive(plan, counter, max_summary_tokens)
    result = apply_summary(plan, text, counter=counter, max_summary_tokens=max_summary_tokens)
    result.llm_calls = calls
    return result


async def asummarize_history(
    messages: Sequence[BaseMessage],
    *,
    model: Any = None,
    running_summary: RunningSummary | dict | None = None,
    prompt: str = DEFAULT_SUMMARY_PROMPT,
    **options: Any,
) -> SummaryResult:
    """Async :func:`summarize_history` (same options, same result)."""
    s = summarizer(model=model, prompt=prompt, **options)
    return await s.arun(s.plan(messages, running_summary))
