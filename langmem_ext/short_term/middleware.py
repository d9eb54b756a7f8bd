"""The same short-term logic as LangChain v1 agent middleware (``create_agent``).

State-changing work (running summary, importance scores, deletions) happens in
``before_model``; what the model sees is shaped in ``wrap_model_call`` without touching
the stored history (unless ``rewrite_history=True``). The agent's system prompt is
counted against the budget.

Example:
    >>> from langchain.agents import create_agent
    >>> from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    >>> from langchain_core.messages import AIMessage
    >>> model = GenericFakeChatModel(messages=iter([AIMessage("hi!")]))
    >>> agent = create_agent(model, middleware=[SummaryMiddleware(max_tokens=2000), TrimMiddleware(max_tokens=1000)])
    >>> agent.invoke({"messages": [("user", "hello")]})["messages"][-1].content
    'hi!'
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any

from langchain.agents.middleware.types import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain_core.messages import BaseMessage, RemoveMessage
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from typing_extensions import NotRequired, Unpack

from langmem_ext._options import CONFIGURED, check_positive, deprecated_options, keyword_model, resolve_model
from langmem_ext.prompts import DEFAULT_SUMMARY_PROMPT
from langmem_ext.short_term.counting import MessageTokenCounter, TokenCounterLike, as_counter
from langmem_ext.short_term.delete import select_deletions
from langmem_ext.short_term.importance import ImportanceOptions, importance_filter
from langmem_ext.short_term.messages import is_summary_message
from langmem_ext.short_term.nodes import merge_scores
from langmem_ext.short_term.summarize import RunningSummary, SummaryOptions, SummaryResult, summary_message, summary_options
from langmem_ext.short_term.trim import trim_history

__all__ = [
    "DeletionMiddleware",
    "ImportanceFilterMiddleware",
    "ShortTermAgentState",
    "SummaryMiddleware",
    "TrimMiddleware",
]

Handler = Callable[[ModelRequest], ModelResponse]
AsyncHandler = Callable[[ModelRequest], Awaitable[ModelResponse]]


class ShortTermAgentState(AgentState):
    """Agent state with the running summary and the importance-score cache."""

    running_summary: NotRequired[dict[str, Any] | None]
    importance_scores: NotRequired[Annotated[dict[str, float], merge_scores]]


def _with_system(request: ModelRequest) -> tuple[list[BaseMessage], bool]:
    system = request.system_message
    return ([system, *request.messages], True) if system is not None else (list(request.messages), False)


def _override(request: ModelRequest, messages: list[BaseMessage], had_system: bool) -> ModelRequest:
    return request.override(messages=messages[1:] if had_system else messages)


class _ViewMiddleware(AgentMiddleware):
    """Shapes the model input in ``wrap_model_call``; subclasses give ``_view``."""

    state_schema = ShortTermAgentState

    def _view(self, messages: list[BaseMessage], state: Any) -> list[BaseMessage]:
        return messages

    def wrap_model_call(self, request: ModelRequest, handler: Handler) -> ModelResponse:
        messages, had_system = _with_system(request)
        return handler(_override(request, self._view(messages, request.state), had_system))

    async def awrap_model_call(self, request: ModelRequest, handler: AsyncHandler) -> ModelResponse:
        messages, had_system = _with_system(request)
        return await handler(_override(request, self._view(messages, request.state), had_system))


class TrimMiddleware(_ViewMiddleware):
    """Trim the model input to ``max_tokens`` (see :func:`trim_history`); history untouched.

    Options as :class:`~langmem_ext.short_term.nodes.TrimNode` (``model=`` is the deprecated
    name of ``tokenizer_model``).
    """

    def __init__(
        self,
        *,
        max_tokens: int,
        tokenizer_model: str | None = None,
        token_counter: MessageTokenCounter | TokenCounterLike | None = None,
        allow_partial: bool = False,
        **deprecated: Any,
    ) -> None:
        super().__init__()
        tokenizer_model = deprecated_options("TrimMiddleware", deprecated, {"model": "tokenizer_model"},
                                             tokenizer_model=tokenizer_model)["tokenizer_model"]
        check_positive("TrimMiddleware", max_tokens=max_tokens)
        self.max_tokens = max_tokens
        self.allow_partial = allow_partial
        self.counter = as_counter(token_counter, tokenizer_model=tokenizer_model)

    def _view(self, messages: list[BaseMessage], state: Any) -> list[BaseMessage]:
        return trim_history(messages, max_tokens=self.max_tokens, token_counter=self.counter, allow_partial=self.allow_partial)


class SummaryMiddleware(_ViewMiddleware):
    """Running summary before each model call (one model call per trigger, offline if ``model=None``).

    Options (:class:`~langmem_ext.short_term.summarize.SummaryOptions`) and the default
    ``model`` (the configured memory model) as :class:`~langmem_ext.short_term.nodes.SummarizationNode`.
    With ``rewrite_history=True`` the summarised messages are removed from the state.
    """

    @keyword_model
    def __init__(
        self,
        *,
        model: Any = CONFIGURED,
        prompt: str = DEFAULT_SUMMARY_PROMPT,
        rewrite_history: bool = False,
        **options: Unpack[SummaryOptions],
    ) -> None:
        super().__init__()
        model = resolve_model(model)
        self.model = model
        self.prompt = prompt
        self.rewrite_history = rewrite_history
        self.summarizer = summary_options("SummaryMiddleware", model, prompt=prompt, **options)

    def _update(self, result: SummaryResult) -> dict[str, Any] | None:
        if not result.summarized:
            return None
        update: dict[str, Any] = {"running_summary": result.running_summary.model_dump(mode="json")}
        if self.rewrite_history:
            update["messages"] = [RemoveMessage(id=REMOVE_ALL_MESSAGES), *result.messages]
        return update

    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return self._update(self.summarizer.run(self.summarizer.plan(state["messages"], state.get("running_summary"))))

    async def abefore_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return self._update(await self.summarizer.arun(self.summarizer.plan(state["messages"], state.get("running_summary"))))

    def _view(self, messages: list[BaseMessage], state: Any) -> list[BaseMessage]:
        summary = RunningSummary.coerce(state.get("running_summary"))
        if summary is None or not summary.text:
            return messages
        covered = set(summary.covered_ids)
        rest = [m for m in messages if not is_summary_message(m) and not (m.id and m.id in covered)]
        k = 0
        while k < len(rest) and rest[k].type == "system":
            k += 1
        return [*rest[:k], summary_message(summary.text), *rest[k:]]


class ImportanceFilterMiddleware(_ViewMiddleware):
    """Score new messages once (``before_model``), then fill ``max_tokens`` by importance.

    Options (:class:`~langmem_ext.short_term.importance.ImportanceOptions`) as
    :class:`~langmem_ext.short_term.nodes.ImportanceFilterNode`.
    """

    def __init__(self, **options: Unpack[ImportanceOptions]) -> None:
        super().__init__()
        self.filter = importance_filter(**options, owner="ImportanceFilterMiddleware")  # type: ignore[misc]

    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        fresh = self.filter.score_new(list(state["messages"]), state.get("importance_scores") or {})
        return {"importance_scores": fresh} if fresh else None

    async def abefore_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        fresh = await self.filter.ascore_new(list(state["messages"]), state.get("importance_scores") or {})
        return {"importance_scores": fresh} if fresh else None

    def _view(self, messages: list[BaseMessage], state: Any) -> list[BaseMessage]:
        return self.filter.view(messages, state.get("importance_scores") or {})


class DeletionMiddleware(AgentMiddleware):
    """Permanently delete before each model call (e.g. ``keep_last_turns=20``), history kept valid."""

    def __init__(
        self,
        *,
        ids: Iterable[str] | None = None,
        predicate: Callable[[BaseMessage], bool] | None = None,
        keep_last_turns: int | None = None,
    ) -> None:
        super().__init__()
        self.selection = dict(ids=list(ids) if ids is not None else None, predicate=predicate, keep_last_turns=keep_last_turns)
        select_deletions([], **self.selection)  # validates now

    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        doomed = select_deletions(state["messages"], **self.selection)
        return {"messages": [RemoveMessage(id=i) for i in doomed]} if doomed else None

    async def abefore_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return self.before_model(state, runtime)
