"""ReflectionNode: turn new conversation messages into long-term memory operations.

One reflection:

1. resolves the namespaces of every memory kind from the run config
   (``("memories", "{user_id}", "semantic")`` ...), failing early and clearly;
2. reads the thread's cursor (ids of messages already reflected on, stored in
   the store under ``cursor_namespace``/thread id) and keeps only new messages;
3. looks up related memories with SEVERAL queries drawn from all the new
   messages (one store batch), plus every active procedural rule;
4. makes ONE structured LLM call (through :mod:`langmem_ext.llm`: bounded, one retry
   policy, the structured-output method the server takes, one repair) returning
   insert / update / close / delete operations in the slim model-facing shape of
   :mod:`~langmem_ext.long_term.extraction` — or, with no model, runs the offline
   heuristic extractor (:mod:`~langmem_ext.long_term.offline`) and says so in the logs;
5. keeps what is grounded, new and within limits, and copies the semantic facts
   it inserts onto the episodes it inserts from the same messages
   (:mod:`~langmem_ext.long_term.curation`);
6. applies them through the lossless writer (history per memory, CAS or lock),
   then advances the cursor past the messages whose memories were written or
   deliberately skipped. A failing store leaves the cursor where it was.

A model that fails (server errors, timeouts, answers that stay invalid after the one
repair, the turn's request budget spent) does not lose the turn: the offline extractor
writes what it finds in those messages, one log line says so, and a dead letter keeps
them for a later LLM retry (:func:`~langmem_ext.long_term.dead_letters.retry_dead_letters`).
A valid answer with nothing in it, where the offline extractor does find facts or rules,
is treated the same way. Semantic facts and episodes, like rules, must be grounded in
the user's own words (:func:`~langmem_ext.long_term.extraction.grounding`).

Procedural memory changes only from the user's own words: procedural
operations are dropped unless the new messages hold a human message, and an
operation's ``source`` must be found in what the human wrote (never in tool
output or recalled memories).

This module holds the node and its store I/O (one operation driven sync or async,
the graph-node adapters, the background executor); the prompt, the transcript and the
steps between store requests are written in :mod:`langmem_ext.long_term._reflection_steps`
(the prompt and the transcript are imported from here).

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> from langgraph.store.memory import InMemoryStore
    >>> store = InMemoryStore()
    >>> node = ReflectionNode(store=store)  # no model: offline extractor
    >>> config = {"configurable": {"user_id": "u1", "thread_id": "t1"}}
    >>> result = node.reflect([HumanMessage("I live in Lisbon.", id="1"), AIMessage("Nice!", id="2")], config=config)
    >>> result.offline, [m.content for m in result.applied.memories.values() if m.kind == "semantic"]
    (True, ['User lives in Lisbon'])
    >>> node.reflect([HumanMessage("I live in Lisbon.", id="1"), AIMessage("Nice!", id="2")], config=config).skipped
    'no new messages'
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore

from langmem_ext._options import CONFIGURED, check_non_negative, check_positive, deprecated_options, keyword_model, resolve_model
from langmem_ext.contract import HISTORY_KEY, MemoryNode, run_config, source_key
from langmem_ext.limits import Limits
from langmem_ext.llm import ModelCallError, acall_structured, call_structured, reflection_tokens
from langmem_ext.long_term.curation import MAX_EPISODE_FACTS
from langmem_ext.long_term._io import Batch, Gen, Twin, run_async, run_sync
# The prompt, the transcript and the steps that touch no store live in their own module;
# this module runs them over the store and stays the prompt's and the transcript's public home.
from langmem_ext.long_term._reflection_steps import DEFAULT_REFLECTION_PROMPT, ReflectionSteps, format_transcript
from langmem_ext.long_term.dead_letters import saving_dead_letter
from langmem_ext.long_term.extraction import MAX_OPERATIONS, reflection_json_schema
from langmem_ext.long_term.executor import ReflectionExecutor
from langmem_ext.long_term.namespaces import DEFAULT_NAMESPACES
from langmem_ext.long_term.schemas import memory_kinds
from langmem_ext.long_term.writer import Applied, changes_gen

__all__ = [
    "DEFAULT_REFLECTION_PROMPT",
    "ReflectionNode",
    "ReflectionResult",
    "format_transcript",
]

logger = logging.getLogger(__name__)

Trigger = Literal["turn", "every_k", "thread_end"]


@dataclass
class ReflectionResult:
    """What one reflection did."""

    applied: Applied = field(default_factory=Applied)
    messages: int = 0
    """New messages reflected on."""
    related: int = 0
    """Existing memories shown to the model."""
    offline: bool = False
    """True when the heuristic extractor ran instead of a model."""
    skipped_exchanges: int = 0
    """User messages whose exchange carried no new information (no episode was written for them)."""
    skipped: str | None = None
    """Why nothing was done (no new messages, trigger not reached), else None."""
    fallback: str | None = None
    """Why the offline extractor stood in for the model (its cause), else None."""
    requests: int = 0
    """Model requests the reflection sent."""


class ReflectionNode(ReflectionSteps, MemoryNode):
    """Reflect on new messages and update long-term memory (see module docstring).

    Use it as a graph node (``builder.add_node("reflect", ReflectionNode(model=model))``);
    it takes the store from the graph (``compile(store=...)``) unless ``store=``
    is given, and returns no state update. Call :meth:`reflect` / :meth:`areflect`
    directly to reflect outside a graph.

    Args:
        model: Chat model with structured output (or ``"provider:model"``). Default: the
            configured memory model (``LANGMEM_EXT_MEMORY_MODEL``, see :mod:`langmem_ext.models`),
            the offline extractor when none is configured; ``None``: always offline.
        store: Store to use instead of the graph's.
        kinds: Memory kinds to maintain.
        namespaces: Namespace template per kind (default ``("memories", "{user_id}", kind)``).
        cursor_namespace: Template where per-thread cursors are kept.
        trigger: ``"turn"`` (every call with new messages), ``"every_k"`` (once
            ``every`` new user messages accumulated) or ``"thread_end"`` (only when
            the config has ``configurable.thread_end = True``).
        every: K for ``"every_k"``.
        background: Submit to a debounced background executor instead of
            reflecting on the request path. Pending reflections are flushed when the
            process exits normally (bounded by ``exit_timeout``), and on
            :meth:`flush` / :meth:`aflush`.
        delay: Debounce delay in seconds for background mode.
        max_queries: Search queries drawn from the new messages.
        per_query: Related memories fetched per query and kind.
        retries: Deprecated, ignored: retries follow the one policy of :mod:`langmem_ext.llm`.
        on_error: ``"log"`` (keep the turn going; messages stay unreflected) or ``"raise"``.
        prompt: System prompt of the reflection call.
        input_messages_key: The history's key (``messages_key=`` is its deprecated name).
        output_messages_key: A model-input key to clear once the turn is reflected on
            (e.g. ``"llm_input_messages"``, so the prepared model input does not stay in the
            checkpoint); None (default): the node writes nothing to the state.
        name: The node's name.
        limits: Size limits (``memory_bytes``, 4 KiB of text per memory, by default); a
            model insert over it is dropped with a WARNING, the rest is applied.
        max_episode_facts: The semantic facts a reflection inserts are copied onto the
            ``facts`` of the episodes it inserts from the same messages, up to this many
            per episode (0: never; see :mod:`~langmem_ext.long_term.curation`).
        max_operations: Operations one reflection call may return (the schema's ``maxItems``).
        max_tokens: Output bound of the reflection call (default: room for ``max_operations``).
    """

    @keyword_model
    def __init__(
        self,
        *,
        model: BaseChatModel | str | None = CONFIGURED,
        store: BaseStore | None = None,
        kinds: Sequence[str] = ("semantic", "episodic", "procedural"),
        namespaces: Mapping[str, Sequence[str]] | None = None,
        cursor_namespace: Sequence[str] = ("memories", "{user_id}", "reflection_cursor"),
        trigger: Trigger = "turn",
        every: int = 3,
        background: bool = False,
        delay: float = 5.0,
        max_queries: int = 6,
        per_query: int = 4,
        retries: int = 2,
        on_error: Literal["log", "raise"] = "log",
        prompt: str = DEFAULT_REFLECTION_PROMPT,
        limits: Limits | None = None,
        max_episode_facts: int = MAX_EPISODE_FACTS,
        max_operations: int = MAX_OPERATIONS,
        max_tokens: int | None = None,
        exit_timeout: float = 30.0,
        input_messages_key: str = HISTORY_KEY,
        output_messages_key: str | None = None,
        name: str = "reflect",
        **deprecated: Any,
    ) -> None:
        owner = "ReflectionNode"
        input_messages_key = deprecated_options(
            owner, deprecated, {"messages_key": "input_messages_key"},
            input_messages_key=None if input_messages_key == HISTORY_KEY else input_messages_key,
        )["input_messages_key"] or HISTORY_KEY
        if trigger not in ("turn", "every_k", "thread_end"):
            raise ValueError(f"{owner}: trigger must be 'turn', 'every_k' or 'thread_end', got {trigger!r}.")
        check_positive(owner, every=every, max_queries=max_queries, per_query=per_query, max_operations=max_operations)
        check_non_negative(owner, retries=retries, max_episode_facts=max_episode_facts, delay=delay,
                           exit_timeout=exit_timeout)
        if max_tokens is not None and max_tokens < 16:
            raise ValueError(f"{owner}: max_tokens must be >= 16 (the reflection call's output bound), got {max_tokens!r}.")
        if on_error not in ("log", "raise"):
            raise ValueError(f"{owner}: on_error must be 'log' or 'raise', got {on_error!r}.")
        kinds = list(kinds)
        unknown = [k for k in kinds if k not in memory_kinds()]
        if not kinds or unknown:
            raise ValueError(f"{owner}: unknown memory kinds {unknown}; known: {sorted(memory_kinds())}.")
        templates = dict(namespaces or {})
        for kind in kinds:
            if kind not in templates:
                templates[kind] = DEFAULT_NAMESPACES.get(kind, ("memories", "{user_id}", kind))
        self.model = resolve_model(model)
        self.store = store
        self.kinds = kinds
        self.templates = {k: tuple(templates[k]) for k in kinds}
        self.cursor_namespace = tuple(cursor_namespace)
        self.trigger, self.every = trigger, every
        self.background, self.delay = background, delay
        self.max_queries, self.per_query = max_queries, per_query
        self.retries, self.on_error = retries, on_error
        self.prompt, self.exit_timeout = prompt, exit_timeout
        self.limits = limits
        self.max_episode_facts = max_episode_facts
        self.max_operations = max_operations
        self.max_tokens = max_tokens or reflection_tokens(max_operations)
        self.schema = reflection_json_schema(kinds, max_operations=max_operations)
        self._executor: Any = None
        super().__init__(self._node, self._anode, input_messages_key=input_messages_key,
                         output_messages_key=output_messages_key, name=name)

    # ---- I/O: one operation, driven sync or async (langmem_ext.long_term._io) --------------

    def _reflect(self, messages: Sequence[BaseMessage], config: RunnableConfig | None, store: BaseStore,
                 retry: bool) -> Gen[ReflectionResult]:
        namespaces = self._namespaces(config)
        (cursor,) = yield Batch([self._cursor_op(config)])
        new = self._new_messages(messages, cursor, retry=retry)
        if (reason := self._skip_reason(new, config)) is not None:
            return ReflectionResult(skipped=reason)
        known = self._known((yield Batch(self._search_ops(new, namespaces))))
        fallback, requests = None, 0
        if self.model is None:
            operations: Sequence[Any] = self._operations_offline(new, known)
        else:
            model_input, aliases = self._model_input(new, known)
            options = self._call_options(new, known, aliases, retry=retry)
            try:
                outcome: Any = yield Twin(lambda: call_structured(self.model, model_input, **options),
                                          lambda: acall_structured(self.model, model_input, **options))
            except ModelCallError as exc:
                outcome = exc
            operations, fallback, requests = self._decide(new, known, aliases, outcome, retry=retry)
        skip = self._skip(new, known)
        applied = yield from changes_gen(store, self._changes(operations, new, known, namespaces, skip), limits=self.limits)
        failed = fallback is not None and not fallback.startswith("empty")
        if failed:
            yield from saving_dead_letter(*self._letter(new, config, fallback))  # type: ignore[arg-type]
        yield Batch([self._cursor_put(config, cursor, new, offline_only=failed)])
        return ReflectionResult(applied=applied, messages=len(new), related=len(known), offline=self.model is None,
                                fallback=fallback, requests=requests, skipped_exchanges=self._skipped(new, skip))

    def reflect(
        self, messages: Sequence[BaseMessage], *, config: RunnableConfig | None = None, store: BaseStore | None = None,
        retry: bool = False,
    ) -> ReflectionResult:
        """Reflect on the messages of ``config``'s thread now.

        Args:
            retry: Reflect with the model on messages only the offline extractor handled
                (a dead letter's); a model failure then raises instead of falling back.
        """
        store = self._resolve_store(store)
        return run_sync(store, self._reflect(messages, config, store, retry))

    async def areflect(
        self, messages: Sequence[BaseMessage], *, config: RunnableConfig | None = None, store: BaseStore | None = None,
        retry: bool = False,
    ) -> ReflectionResult:
        """Async :meth:`reflect`."""
        store = self._resolve_store(store)
        return await run_async(store, self._reflect(messages, config, store, retry))

    def _node(self, state: Any, config: RunnableConfig) -> dict[str, Any]:
        self.handle(self.history(state), config=run_config(config))
        return self._done()

    def handle(self, messages: Sequence[BaseMessage], *, config: RunnableConfig, store: BaseStore | None = None) -> None:
        """What the node does with a turn: submit it (``background``) or reflect now (errors as ``on_error``)."""
        store = self._resolve_store(store)
        if self.background:
            self.executor.submit(messages, config=config, store=store)
            return
        with self._reported():
            self.reflect(messages, config=config, store=store)

    @contextlib.contextmanager
    def _reported(self) -> Iterator[None]:
        """``on_error="log"``: a failed reflection is logged and the turn goes on."""
        try:
            yield
        except Exception:
            if self.on_error == "raise":
                raise
            logger.exception("Reflection failed; the messages stay unreflected and are retried next time.")

    def _done(self) -> dict[str, Any]:
        if self.output_messages_key is None:
            return {}
        return {self.output_messages_key: None, source_key(self.output_messages_key): None}

    async def _anode(self, state: Any, config: RunnableConfig) -> dict[str, Any]:
        await self.ahandle(self.history(state), config=run_config(config))
        return self._done()

    async def ahandle(self, messages: Sequence[BaseMessage], *, config: RunnableConfig,
                      store: BaseStore | None = None) -> None:
        """Async :meth:`handle`."""
        store = self._resolve_store(store)
        if self.background:
            self.executor.asubmit(messages, config=config, store=store)
            return
        with self._reported():
            await self.areflect(messages, config=config, store=store)

    # ---- background ------------------------------------------------------------------------

    @property
    def executor(self) -> ReflectionExecutor:
        """The debounced background executor (created on first use)."""
        if self._executor is None:
            self._executor = ReflectionExecutor(self, delay=self.delay, exit_timeout=self.exit_timeout)
        return self._executor

    def flush(self, timeout: float | None = None) -> int:
        """Run the pending background reflections now and wait for them (graphs run with ``invoke``).

        Call it before the process, or the store, goes away if you cannot wait for the exit
        hook (which does the same when the process exits normally).

        Returns:
            How many reflections finished (0 without background work).

        Raises:
            TimeoutError: still running after ``timeout`` seconds (they go on in the background).
            RuntimeError: called inside the event loop that owns them; ``await node.aflush()``.
        """
        return 0 if self._executor is None else self._executor.flush(timeout=timeout)

    async def aflush(self) -> int:
        """Async :meth:`flush` (graphs run with ``ainvoke``); returns how many reflections finished."""
        return 0 if self._executor is None else await self._executor.aflush()
