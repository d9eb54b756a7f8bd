"""LangGraph nodes over the pure functions: thin, usable sync and async.

Every node follows the node contract (:mod:`langmem_ext.contract`): it reads the history
(``input_messages_key``, default ``"messages"``) and builds on the model input an earlier
node prepared this turn, if any; it writes the model input (``output_messages_key``,
default ``"llm_input_messages"``) and never the history, unless ``output_messages_key``
names the history itself (then the history is rewritten:
``RemoveMessage(REMOVE_ALL_MESSAGES)`` + the new list). Each node declares its state keys,
so it works on any state, LangGraph's ``MessagesState`` included; the model node reads
:func:`langmem_ext.model_input`.

Example:
    >>> from langgraph.graph import START, MessagesState, StateGraph
    >>> from langchain_core.messages import HumanMessage
    >>> graph = StateGraph(MessagesState)
    >>> _ = graph.add_node("trim", TrimNode(max_tokens=60))
    >>> _ = graph.add_edge(START, "trim")
    >>> out = graph.compile().invoke({"messages": [HumanMessage("one " * 50), HumanMessage("two")]})
    >>> len(out["messages"])  # the history is untouched; the model input is in the graph's state
    2
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

from typing_extensions import Unpack

from langchain_core.messages import AnyMessage, BaseMessage, RemoveMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.message import REMOVE_ALL_MESSAGES

from langmem_ext._options import CONFIGURED, check_non_negative, check_positive, deprecated_options, keyword_model, resolve_model
from langmem_ext.contract import HISTORY_KEY, MODEL_INPUT_KEY, MemoryNode, MemoryState, current_view, history_stamp, source_key
from langmem_ext.prompts import DEFAULT_SUMMARY_PROMPT
from langmem_ext.short_term.background import BackgroundSummaries
from langmem_ext.short_term.counting import MessageTokenCounter, TokenCounterLike, as_counter
from langmem_ext.short_term.delete import select_deletions
from langmem_ext.short_term.importance import ImportanceOptions, importance_filter
from langmem_ext.short_term.summarize import (
    RunningSummary,
    SummaryOptions,
    SummaryResult,
    summary_options,
)
from langmem_ext.short_term.trim import trim_history

__all__ = [
    "DeletionNode",
    "ImportanceFilterNode",
    "ShortTermState",
    "SummarizationNode",
    "TrimNode",
    "merge_scores",
]


def merge_scores(left: dict[str, float] | None, right: dict[str, float] | None) -> dict[str, float]:
    """Reducer for the importance-score cache: new scores are added, old ones kept."""
    return {**(left or {}), **(right or {})}


class ShortTermState(MemoryState, total=False):
    """A state with every key the short-term nodes use (extend it for your graph).

    Not required: each node declares its own keys to the graph.
    """

    running_summary: dict[str, Any] | None
    importance_scores: Annotated[dict[str, float], merge_scores]


def _get(state: Any, key: str) -> Any:
    if isinstance(state, dict):
        return state.get(key)
    return getattr(state, key, None)


class _MessagesNode(MemoryNode):
    """Reads the history or the current model input, writes the model input; subclasses give ``_compute``."""

    def __init__(self, *, input_messages_key: str, output_messages_key: str, name: str) -> None:
        super().__init__(self._run, self._arun, input_messages_key=input_messages_key,
                         output_messages_key=output_messages_key, name=name)

    def _write(self, history: Sequence[BaseMessage], source: Sequence[BaseMessage], after: list[BaseMessage],
               extra: dict[str, Any]) -> dict[str, Any]:
        if self.rewrites_history:
            if list(source) == after:
                return extra
            return {self.input_messages_key: [RemoveMessage(id=REMOVE_ALL_MESSAGES), *after], **extra}
        return {**self.view_update(history, after), **extra}

    def _compute(self, state: Any, messages: list[BaseMessage]) -> tuple[list[BaseMessage], dict[str, Any]]:
        raise NotImplementedError

    async def _acompute(self, state: Any, messages: list[BaseMessage]) -> tuple[list[BaseMessage], dict[str, Any]]:
        return self._compute(state, messages)

    def _run(self, state: Any) -> dict[str, Any]:
        history, source = self.source(state)
        return self._write(history, source, *self._compute(state, source))

    async def _arun(self, state: Any) -> dict[str, Any]:
        history, source = self.source(state)
        return self._write(history, source, *await self._acompute(state, source))


class TrimNode(_MessagesNode):
    """Trim to ``max_tokens`` (see :func:`~langmem_ext.short_term.trim.trim_history`).

    The leading system content (system prompt, memory block, running summary) is always
    kept and counted, so as the last node before the model its budget holds for the whole
    model input.

    Args:
        max_tokens: the most tokens of the model input it outputs.
        tokenizer_model: model name for the tokenizer (default ``gpt-4o-mini``; ``model=``
            is its deprecated name).
        token_counter: a :class:`MessageTokenCounter` or LangChain-style counter instead.
        allow_partial: cut the latest human message instead of raising when it alone is too big.
        input_messages_key: the history's key.
        output_messages_key: the model input's key (the history's key: rewrite the history).
        name: the node's name.
    """

    def __init__(
        self,
        *,
        max_tokens: int,
        tokenizer_model: str | None = None,
        token_counter: MessageTokenCounter | TokenCounterLike | None = None,
        allow_partial: bool = False,
        input_messages_key: str = HISTORY_KEY,
        output_messages_key: str = MODEL_INPUT_KEY,
        name: str = "trim_messages",
        **deprecated: Any,
    ) -> None:
        tokenizer_model = deprecated_options("TrimNode", deprecated, {"model": "tokenizer_model"},
                                             tokenizer_model=tokenizer_model)["tokenizer_model"]
        check_positive("TrimNode", max_tokens=max_tokens)
        self.max_tokens = max_tokens
        self.allow_partial = allow_partial
        self.counter = as_counter(token_counter, tokenizer_model=tokenizer_model)
        super().__init__(input_messages_key=input_messages_key, output_messages_key=output_messages_key, name=name)

    def _compute(self, state: Any, messages: list[BaseMessage]) -> tuple[list[BaseMessage], dict[str, Any]]:
        kept = trim_history(messages, max_tokens=self.max_tokens, token_counter=self.counter, allow_partial=self.allow_partial)
        return kept, {}


class SummarizationNode(_MessagesNode):
    """Keep a running summary in ``summary_key``; the model sees it after the system content.

    Args:
        model: chat model (or Runnable, or ``"provider:model"``) that writes the summary.
            Default: the configured memory model (``LANGMEM_EXT_MEMORY_MODEL``, see
            :mod:`langmem_ext.models`), the offline extractive summary when none is
            configured; ``None``: always offline.
        max_tokens: the most tokens of the model input it outputs; the token trigger
            defaults to it.
        trigger_tokens: summarise when the input exceeds this many tokens.
        trigger_messages: ... or when more than this many messages are not yet summarised.
        trigger_fraction: ... or when the input exceeds this share of ``context_window``
            (default: the model's profile ``max_input_tokens``).
        keep_tokens: tokens of recent messages kept verbatim (default: half of what the
            trigger leaves after the system prompt and summary).
        keep_messages: at most this many recent messages kept verbatim.
        max_summary_tokens: length cap of the summary.
        tokenizer_model: model name for token counting (default ``gpt-4o-mini``).
        prompt: overrides :data:`langmem_ext.prompts.DEFAULT_SUMMARY_PROMPT`.
        background: start the summary call in a worker thread once the input passes
            ``background_at`` x the trigger, and apply it on a later run (see
            :mod:`.background`); a request waits only if the trigger itself is reached first.
        background_at: the soft threshold, as a share of the trigger.
        input_messages_key: the history's key.
        output_messages_key: the model input's key.
        summary_key: the state key of the running summary.
        name: the node's name.

    A model call that fails, or would overflow the model's context window, is replaced by
    the extractive summary for that run (one log line): a failing model never fails a turn.
    Likewise, when even the latest human message does not fit what ``max_tokens`` leaves, it
    is kept whole (logged); a ``TrimNode`` after the summariser makes the budget hard.
    """

    @keyword_model
    def __init__(
        self,
        *,
        model: Any = CONFIGURED,
        prompt: str = DEFAULT_SUMMARY_PROMPT,
        background: bool = False,
        background_at: float = 0.8,
        input_messages_key: str = HISTORY_KEY,
        output_messages_key: str = MODEL_INPUT_KEY,
        summary_key: str = "running_summary",
        name: str = "summarize_messages",
        **options: Unpack[SummaryOptions],
    ) -> None:
        model = resolve_model(model)
        self.model = model
        self.prompt = prompt
        self.summary_key = summary_key
        self.summarizer = summary_options("SummarizationNode", model, prompt=prompt, **options)
        self.counter = self.summarizer.counter
        self.background = background
        if background:
            self.soft = self.summarizer.softened(background_at)
            self.jobs = BackgroundSummaries()
        super().__init__(input_messages_key=input_messages_key, output_messages_key=output_messages_key, name=name)

    def state_keys(self) -> dict[str, Any]:
        return {**super().state_keys(), self.summary_key: dict[str, Any] | None}

    # -- background mode: the same steps, sync and async differ only in how they wait

    def _applied(self, result: SummaryResult | None, summary: Any, extra: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        if result is not None and result.summarized:
            return result.running_summary, {self.summary_key: result.running_summary.model_dump(mode="json")}
        return summary, extra

    def _hard_plan(self, messages: list[BaseMessage], summary: Any) -> Any:
        return self.summarizer.plan(messages, summary)

    def _quiet(self, messages: list[BaseMessage], summary: Any, thread: str, extra: dict[str, Any]):
        soft = self.soft.plan(messages, summary)
        if soft.triggered and not self.jobs.pending(thread):
            self.jobs.submit(thread, summary, lambda: self.soft.run(soft))
        view = self.summarizer.run(self._hard_plan(messages, summary))  # not triggered: no model call
        return view.messages, extra

    def _run(self, state: Any, config: RunnableConfig | None = None) -> dict[str, Any]:
        if not self.background:
            return super()._run(state)
        (history, messages), thread = self.source(state), _thread_of(config)
        summary = RunningSummary.coerce(_get(state, self.summary_key))
        summary, extra = self._applied(self.jobs.take(thread, summary, wait=False), summary, {})
        if not self._hard_plan(messages, summary).triggered:
            return self._write(history, messages, *self._quiet(messages, summary, thread, extra))
        summary, extra = self._applied(self.jobs.take(thread, summary, wait=True), summary, extra)
        result = self.summarizer.run(self._hard_plan(messages, summary))
        return self._write(history, messages, result.messages, self._applied(result, summary, extra)[1])

    async def _arun(self, state: Any, config: RunnableConfig | None = None) -> dict[str, Any]:
        if not self.background:
            return await super()._arun(state)
        (history, messages), thread = self.source(state), _thread_of(config)
        summary = RunningSummary.coerce(_get(state, self.summary_key))
        summary, extra = self._applied(self.jobs.take(thread, summary, wait=False), summary, {})
        if not self._hard_plan(messages, summary).triggered:
            return self._write(history, messages, *self._quiet(messages, summary, thread, extra))
        summary, extra = self._applied(await self.jobs.atake(thread, summary, wait=True), summary, extra)
        result = await self.summarizer.arun(self._hard_plan(messages, summary))
        return self._write(history, messages, result.messages, self._applied(result, summary, extra)[1])

    def _finish(self, result: SummaryResult) -> tuple[list[BaseMessage], dict[str, Any]]:
        extra = {self.summary_key: result.running_summary.model_dump(mode="json")} if result.summarized else {}
        return result.messages, extra

    def _compute(self, state: Any, messages: list[BaseMessage]) -> tuple[list[BaseMessage], dict[str, Any]]:
        return self._finish(self.summarizer.run(self.summarizer.plan(messages, _get(state, self.summary_key))))

    async def _acompute(self, state: Any, messages: list[BaseMessage]) -> tuple[list[BaseMessage], dict[str, Any]]:
        return self._finish(await self.summarizer.arun(self.summarizer.plan(messages, _get(state, self.summary_key))))


def _thread_of(config: RunnableConfig | None) -> str:
    return str(((config or {}).get("configurable") or {}).get("thread_id", ""))


class DeletionNode(_MessagesNode):
    """Delete messages permanently (default output: the history), leaving a valid history.

    The deleted messages also leave a model input an earlier node prepared this turn.
    With ``output_messages_key`` set to the model input's key instead, nothing is deleted
    from the history: the selection is only left out of what the model sees.

    Args:
        ids: ids to delete; more can be given at run time in the state key ``ids_key``.
        predicate: delete messages for which it returns True.
        keep_last_turns: delete everything but the last N turns (system messages stay).
        everything: delete all but the system messages.
        ids_key: state key read for run-time ids (ignored when absent).
        input_messages_key: the history's key.
        output_messages_key: where the deletion lands (default: the history itself).
        name: the node's name.
    """

    def __init__(
        self,
        *,
        ids: Iterable[str] | None = None,
        predicate: Callable[[BaseMessage], bool] | None = None,
        keep_last_turns: int | None = None,
        everything: bool = False,
        ids_key: str | None = "delete_message_ids",
        input_messages_key: str = HISTORY_KEY,
        output_messages_key: str = HISTORY_KEY,
        name: str = "delete_messages",
    ) -> None:
        self.ids = list(ids) if ids is not None else None
        self.predicate = predicate
        self.keep_last_turns = keep_last_turns
        self.everything = everything
        self.ids_key = ids_key
        if ids is None and predicate is None and keep_last_turns is None and not everything and ids_key is None:
            raise ValueError("Say what DeletionNode deletes: ids=, predicate=, keep_last_turns=, everything=True or ids_key=.")
        check_non_negative("DeletionNode", keep_last_turns=keep_last_turns)
        super().__init__(input_messages_key=input_messages_key, output_messages_key=output_messages_key, name=name)

    def state_keys(self) -> dict[str, Any]:
        keys = super().state_keys()
        if self.rewrites_history:  # the model input prepared before this node loses the deleted messages too
            keys.update({MODEL_INPUT_KEY: list[AnyMessage], source_key(MODEL_INPUT_KEY): str})
        if self.ids_key:
            keys[self.ids_key] = list[str]
        return keys

    def _doomed(self, state: Any, messages: list[BaseMessage]) -> set[str]:
        ids = list(self.ids or [])
        if self.ids_key:
            ids += list(_get(state, self.ids_key) or [])
        if not ids and self.predicate is None and self.keep_last_turns is None and not self.everything:
            return set()
        return set(
            select_deletions(
                messages,
                ids=ids or None,
                predicate=self.predicate,
                keep_last_turns=self.keep_last_turns,
                everything=self.everything,
            )
        )

    def _compute(self, state: Any, messages: list[BaseMessage]) -> tuple[list[BaseMessage], dict[str, Any]]:
        doomed = self._doomed(state, messages)
        return [m for m in messages if m.id not in doomed], {}

    def _write(self, history: Sequence[BaseMessage], source: Sequence[BaseMessage], after: list[BaseMessage],
               extra: dict[str, Any]) -> dict[str, Any]:
        if not self.rewrites_history:
            return super()._write(history, source, after, extra)
        kept = {m.id for m in after}
        removals = [RemoveMessage(id=m.id) for m in history if m.id not in kept]  # targeted: cheaper than a rewrite
        if not removals:
            return extra
        return {self.input_messages_key: removals, **extra}

    def _run(self, state: Any) -> dict[str, Any]:
        update = super()._run(state)
        if self.rewrites_history and update.get(self.input_messages_key):
            history = self.history(state)
            view = current_view(state, history, MODEL_INPUT_KEY)
            if view is not None:
                gone = {r.id for r in update[self.input_messages_key]}
                remaining = [m for m in history if m.id not in gone]
                update.update(_restamped(view, gone, remaining))
        return update

    async def _arun(self, state: Any) -> dict[str, Any]:
        return self._run(state)


def _restamped(view: list[BaseMessage], gone: set[str], history: list[BaseMessage]) -> dict[str, Any]:
    return {MODEL_INPUT_KEY: [m for m in view if m.id not in gone], source_key(MODEL_INPUT_KEY): history_stamp(history)}


class ImportanceFilterNode(_MessagesNode):
    """Score new messages once (cached in ``scores_key``), then build a budgeted model input.

    The leading system content (system prompt, memory block, running summary) is always
    kept and counted, so as the last node before the model its budget holds for the whole
    model input.

    Args:
        **options: :class:`~langmem_ext.short_term.importance.ImportanceOptions`:
            ``max_tokens`` (the most tokens of the model input it outputs, required),
            ``scorer`` (:class:`HeuristicScorer` by default, :class:`LLMScorer`, or
            ``fn(message) -> float``), ``keep_last_turns`` (recent turns always kept),
            ``relevance`` (``"none"``, ``"lexical"`` or ``"embedding"``, which needs
            ``embed``), ``relevance_weight``, ``embed``, ``embedding_cache_size``,
            ``tokenizer_model`` / ``token_counter`` (token counting).
        input_messages_key: the history's key.
        output_messages_key: the model input's key.
        scores_key: state key of the score cache.
        name: the node's name.
    """

    def __init__(
        self,
        *,
        input_messages_key: str = HISTORY_KEY,
        output_messages_key: str = MODEL_INPUT_KEY,
        scores_key: str = "importance_scores",
        name: str = "importance_filter",
        **options: Unpack[ImportanceOptions],
    ) -> None:
        self.filter = importance_filter(**options, owner="ImportanceFilterNode")  # type: ignore[misc]
        self.scores_key = scores_key
        super().__init__(input_messages_key=input_messages_key, output_messages_key=output_messages_key, name=name)

    def state_keys(self) -> dict[str, Any]:
        return {**super().state_keys(), self.scores_key: Annotated[dict[str, float], merge_scores]}

    def _build(self, messages: list[BaseMessage], known: dict[str, float], fresh: dict[str, float]):
        merged = {**known, **fresh}
        return self.filter.view(messages, merged), ({self.scores_key: fresh} if fresh else {})

    def _compute(self, state: Any, messages: list[BaseMessage]) -> tuple[list[BaseMessage], dict[str, Any]]:
        known = dict(_get(state, self.scores_key) or {})
        return self._build(messages, known, self.filter.score_new(messages, known))

    async def _acompute(self, state: Any, messages: list[BaseMessage]) -> tuple[list[BaseMessage], dict[str, Any]]:
        known = dict(_get(state, self.scores_key) or {})
        return self._build(messages, known, await self.filter.ascore_new(messages, known))
