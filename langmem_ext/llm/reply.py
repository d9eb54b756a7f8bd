"""The reply path: every turn answers, within the model's window, whatever the server does.

:func:`reply` / :func:`areply` send the model input of a turn through :mod:`.call`
(``max_tokens`` = ``policy.reply_tokens``, the request timeout, the one retry policy;
the memory budgets and cool-down do not apply: the user is waiting for this one):

* the input is sized to the model's context window first (:mod:`.window`): when it is
  over, the oldest turns are trimmed (system messages kept);
* a context-overflow 400 (the server counts tokens differently) trims to half and tries
  once more;
* if the model still cannot answer, the offline responder answers from the context the
  turn assembled (memories, summary, recent turns) and says that the model failed. The
  fallback is logged in one line like the memory fallbacks.

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> from langmem_ext.long_term.testing import ScriptedChatModel
    >>> reply(ScriptedChatModel(responses=["Hi there."]), [HumanMessage("Hello", id="h1")]).content
    'Hi there.'
    >>> failing = ScriptedChatModel(responses=[ConnectionError("refused")] * 2)
    >>> reply(failing, [HumanMessage("What is my dog called?", id="h2")]).content
    '(The model could not answer: transient. Offline answer.) I found nothing in memory about "What is my dog called".'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from langmem_ext.llm.call import acall_text, call_text
from langmem_ext.llm.endpoint import endpoint_of
from langmem_ext.llm.failures import ModelCallError
from langmem_ext.llm.policy import CallPolicy, default_policy
from langmem_ext.llm.stats import record
from langmem_ext.llm.turns import turn_key
from langmem_ext.llm.window import context_window, input_budget

__all__ = ["areply", "fit_to_window", "reply", "sized_budget"]


def _offline(model: Any) -> bool:
    from langmem_ext.models import OfflineResponder

    inner = model
    while hasattr(inner, "bound"):
        inner = inner.bound
    return isinstance(inner, OfflineResponder)


def fit_to_window(messages: Sequence[BaseMessage], *, max_input: int) -> list[BaseMessage]:
    """``messages`` trimmed (oldest turns first, system messages kept) to ``max_input`` tokens.

    Example:
        >>> from langchain_core.messages import HumanMessage, SystemMessage
        >>> msgs = [SystemMessage("Be kind."), HumanMessage("old " * 300), HumanMessage("new question")]
        >>> [m.content[:8] for m in fit_to_window(msgs, max_input=60)]
        ['Be kind.', 'new ques']
    """
    from langmem_ext.short_term.counting import as_counter
    from langmem_ext.short_term.trim import trim_history

    counter = as_counter(None)
    if counter(list(messages)) <= max_input:
        return list(messages)
    try:
        return trim_history(list(messages), max_tokens=max(1, max_input), token_counter=counter, allow_partial=True)
    except ValueError:  # even the system prompt is over: send the latest message alone
        return list(messages)[-1:]


def sized_budget(model: Any, budget: int, *, policy: CallPolicy | None = None) -> int:
    """``budget`` (tokens of model input) lowered to what ``model``'s context window leaves
    once its reply (``policy.reply_tokens``) is reserved; unchanged for the offline responder.

    Example:
        >>> from langmem_ext.long_term.testing import ScriptedChatModel
        >>> import os; os.environ["LANGMEM_EXT_CONTEXT_WINDOW"] = "2048"
        >>> sized_budget(ScriptedChatModel(), 4000)
        1228
        >>> del os.environ["LANGMEM_EXT_CONTEXT_WINDOW"]
    """
    if model is None or _offline(model):
        return budget
    policy = policy or default_policy()
    return max(64, min(budget, input_budget(context_window(model), max_tokens=policy.reply_tokens)))


def _fallback(messages: Sequence[BaseMessage], model: Any, exc: ModelCallError) -> AIMessage:
    from langmem_ext.models import OfflineResponder

    record("reply", "fallback", model=endpoint_of(model).model, cause=f"{exc.failure.kind}: {exc.failure.cause}",
           fallback="the offline responder")
    answer = OfflineResponder().invoke(list(messages)).content
    return AIMessage(f"(The model could not answer: {exc.failure.kind}. Offline answer.) {answer}")


def _plan(model: Any, messages: Sequence[BaseMessage], policy: CallPolicy) -> tuple[list[BaseMessage], dict[str, Any], int]:
    room = input_budget(context_window(model), max_tokens=policy.reply_tokens)
    options = {"purpose": "reply", "max_tokens": policy.reply_tokens, "memory": False, "want_message": True,
               "turn": turn_key(messages), "policy": policy}
    return fit_to_window(messages, max_input=room), options, room


def reply(model: Any, messages: Sequence[BaseMessage], *, policy: CallPolicy | None = None) -> AIMessage:
    """The model's answer to ``messages`` (see the module docstring); never raises for a model failure."""
    if _offline(model):
        return model.invoke(list(messages))
    policy = policy or default_policy()
    fitted, options, room = _plan(model, messages, policy)
    try:
        return call_text(model, fitted, **options).value
    except ModelCallError as exc:
        if exc.failure.kind == "overflow":
            try:
                return call_text(model, fit_to_window(fitted, max_input=room // 2), **options).value
            except ModelCallError as again:
                exc = again
        return _fallback(fitted, model, exc)


async def areply(model: Any, messages: Sequence[BaseMessage], *, policy: CallPolicy | None = None) -> AIMessage:
    """Async :func:`reply`."""
    if _offline(model):
        return await model.ainvoke(list(messages))
    policy = policy or default_policy()
    fitted, options, room = _plan(model, messages, policy)
    try:
        return (await acall_text(model, fitted, **options)).value
    except ModelCallError as exc:
        if exc.failure.kind == "overflow":
            try:
                return (await acall_text(model, fit_to_window(fitted, max_input=room // 2), **options)).value
            except ModelCallError as again:
                exc = again
        return _fallback(fitted, model, exc)
