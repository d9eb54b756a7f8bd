"""The node contract: where every memory node reads and writes, and how the model reads.

* The thread's history is ``input_messages_key`` (``"messages"``): what was said, and
  nothing else. No node writes derived content there (no memory block, summary or
  trimmed copy); only a node whose ``output_messages_key`` is the history itself
  (``DeletionNode``) changes it.
* What the model should see is the *model input*, ``output_messages_key``
  (``"llm_input_messages"``, LangGraph's pre-model-hook key), written together with a
  stamp of the history it was built from (``"llm_input_source"``). A node builds on the
  model input when its stamp matches the current history (an earlier node prepared it
  this turn) and on the history otherwise, so the nodes chain in any order and a stale
  model input from an earlier turn or tool-loop step is never used.
* Leading system content stays in front, in one order whichever node ran first: the
  thread's system messages, then the memory block (``RecallNode``), then the running
  summary (``SummarizationNode``).
* Every node declares its state schema (:attr:`MemoryNode.state_schema`), so
  ``StateGraph.add_node`` adds the channels it needs to any state, LangGraph's
  ``MessagesState`` included.
* The model node reads :func:`model_input`: the model input when it is current, else
  the history, with all leading system content merged into ONE system message.

Example:
    >>> from langchain_core.messages import HumanMessage, SystemMessage
    >>> history = [HumanMessage("hi", id="1")]
    >>> state = {"messages": history, "llm_input_messages": [SystemMessage("Memories: ..."), *history],
    ...          "llm_input_source": history_stamp(history)}
    >>> [m.type for m in model_input(state, system_prompt="Be brief.")]
    ['system', 'human']
    >>> model_input(state, system_prompt="Be brief.")[0].content
    'Be brief.\\n\\nMemories: ...'
    >>> stale = {**state, "messages": [*history, HumanMessage("next", id="2")]}  # a new turn
    >>> [m.content for m in model_input(stale)]
    ['hi', 'next']
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AnyMessage, BaseMessage, SystemMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.graph import MessagesState
from typing_extensions import TypedDict

from langmem_ext._options import warn_deprecated
from langmem_ext.messages import message_key

__all__ = [
    "HISTORY_KEY",
    "MODEL_INPUT_KEY",
    "MemoryNode",
    "MemoryState",
    "history_stamp",
    "model_input",
    "run_config",
    "source_key",
]

HISTORY_KEY = "messages"
"""Default ``input_messages_key``: the thread's history."""
MODEL_INPUT_KEY = "llm_input_messages"
"""Default ``output_messages_key``: what the model should see."""


def source_key(model_input_key: str) -> str:
    """The state key holding the stamp of a model input (``llm_input_messages`` -> ``llm_input_source``).

    >>> source_key("llm_input_messages"), source_key("view")
    ('llm_input_source', 'view_source')
    """
    return model_input_key.removesuffix("_messages") + "_source"


class MemoryState(MessagesState, total=False):
    """``MessagesState`` plus the model input the memory nodes prepare (extend it freely).

    Not required: every node declares its own keys, and :func:`model_input` reads the model
    input even in a node typed with plain ``MessagesState``.
    """

    llm_input_messages: list[AnyMessage]
    llm_input_source: str


def history_stamp(messages: Sequence[BaseMessage]) -> str:
    """A short digest of a history (its message keys, in order): equal iff unchanged.

    >>> from langchain_core.messages import HumanMessage
    >>> history_stamp([HumanMessage("hi", id="1")]) == history_stamp([HumanMessage("hello", id="1")])  # ids decide
    True
    >>> history_stamp([HumanMessage("hi")]) == history_stamp([HumanMessage("hello")])  # no id: the content does
    False
    """
    keys = "\x1f".join([m.id if isinstance(m.id, str) and m.id else message_key(m) for m in messages])
    return f"{len(messages)}:{hashlib.blake2b(keys.encode(), digest_size=8).hexdigest()}"


def _get(state: Any, key: str) -> Any:
    if isinstance(state, Mapping):
        return state.get(key)
    return getattr(state, key, None)


def current_view(state: Any, history: Sequence[BaseMessage], key: str) -> list[BaseMessage] | None:
    """The model input under ``key`` if it was built from ``history``, else None."""
    view = _get(state, key)
    if view is None or _get(state, source_key(key)) != history_stamp(history):
        return None
    return list(view)


_READ_KEY = "__pregel_read"  # LangGraph's per-task state reader (langgraph._internal._constants.CONFIG_KEY_READ)


def _read_from_run(keys: list[str]) -> dict[str, Any] | None:
    """The values of ``keys`` in the running graph's state (None outside a graph run).

    A node typed with ``MessagesState`` receives only ``messages``; the model input is
    still in the graph's channels (the memory nodes declared it), and LangGraph hands each
    task a reader of the whole state.
    """
    try:
        from langgraph.config import get_config

        config = get_config()
    except (ImportError, RuntimeError):
        return None
    read = (config.get("configurable") or {}).get(_READ_KEY)
    if read is None:
        raise RuntimeError(
            "model_input() could not read the model input from this LangGraph version's run context. "
            "Type the model node's state as langmem_ext.MemoryState (def call_model(state: MemoryState)) "
            "so LangGraph passes llm_input_messages in."
        )
    values: dict[str, Any] = {}
    for key in keys:
        try:
            values.update(read([key], False))
        except KeyError:  # the graph has no such channel: no memory node wrote one
            pass
    return values


def merge_system(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """``messages`` with all leading system messages merged into one (text joined by blank lines).

    >>> from langchain_core.messages import HumanMessage
    >>> [m.content for m in merge_system([SystemMessage("a"), SystemMessage("b"), HumanMessage("c")])]
    ['a\\n\\nb', 'c']
    """
    k = 0
    while k < len(messages) and isinstance(messages[k], SystemMessage):
        k += 1
    if k <= 1:
        return list(messages)
    head = messages[:k]
    if all(isinstance(m.content, str) for m in head):
        content: Any = "\n\n".join(str(m.content) for m in head if m.content)
    else:
        content = []
        for m in head:
            blocks = [{"type": "text", "text": m.content}] if isinstance(m.content, str) else list(m.content)
            content += blocks
    return [SystemMessage(content, id=head[0].id), *messages[k:]]


def model_input(
    state: Any,
    system_prompt: str | None = None,
    *,
    input_messages_key: str = HISTORY_KEY,
    model_input_key: str = MODEL_INPUT_KEY,
) -> list[BaseMessage]:
    """What the model node should send to the model.

    The model input the memory nodes prepared this turn (memory block, summary, trimmed
    history), or the history when none is current; ``system_prompt`` goes first, and all
    leading system content is merged into one system message (some providers accept no
    other shape).

    Works in a node typed with any state, ``MessagesState`` included: when the model input
    is not in ``state``, it is read from the running graph.

    Args:
        state: The state the model node received.
        system_prompt: The graph's system prompt, if the model node adds one. It is not
            counted by a trimming node's budget: keep it short, or make it the first
            message of the thread instead.
        input_messages_key: The history's key.
        model_input_key: The model input's key (the nodes' ``output_messages_key``).

    Raises:
        KeyError: the state has no history under ``input_messages_key``.
    """
    history = _get(state, input_messages_key)
    if history is None:
        raise KeyError(
            f"model_input() found no {input_messages_key!r} in the state; pass input_messages_key= "
            "naming the key that holds the conversation."
        )
    history = list(history)
    view = current_view(state, history, model_input_key)
    if view is None and _get(state, model_input_key) is None:
        found = _read_from_run([model_input_key, source_key(model_input_key)])
        if found:
            view = current_view(found, history, model_input_key)
    messages = view if view is not None else history
    if system_prompt:
        messages = [SystemMessage(system_prompt), *messages]
    return merge_system(messages)


def run_config(config: RunnableConfig | None) -> RunnableConfig:
    """``config`` whose ``configurable`` also holds the fields of LangGraph's runtime ``context``.

    A graph compiled with ``context_schema=`` is invoked with ``context={"user_id": ...}``;
    the memory nodes read ``user_id`` (and any namespace placeholder) from there as well as
    from ``configurable`` (which wins when both give one). Outside a graph run, ``config``
    is returned unchanged.
    """
    from langmem_ext.long_term.namespaces import config_values

    try:
        from langgraph.runtime import get_runtime

        context = getattr(get_runtime(), "context", None)
    except (ImportError, RuntimeError, KeyError):
        context = None
    if context is None:
        return config or {}
    config = dict(config or {})
    config["configurable"] = config_values(config, context)
    return config  # type: ignore[return-value]


class MemoryNode(RunnableLambda):
    """Base of every memory node: the keys, the declared state schema, reading and writing.

    Subclasses call ``super().__init__`` with their sync and async functions and extend
    :meth:`state_keys`.
    """

    def __init__(
        self,
        func: Any,
        afunc: Any,
        *,
        input_messages_key: str,
        output_messages_key: str | None,
        name: str,
    ) -> None:
        if input_messages_key == MODEL_INPUT_KEY and output_messages_key in (MODEL_INPUT_KEY, None):
            warn_deprecated(
                f"{type(self).__name__}(input_messages_key={MODEL_INPUT_KEY!r}) is deprecated: every node now builds "
                "on the model input an earlier node prepared this turn; drop the argument."
            )
            input_messages_key = HISTORY_KEY
        for label, key in (("input_messages_key", input_messages_key), ("output_messages_key", output_messages_key)):
            if key is not None and (not isinstance(key, str) or not key):
                raise ValueError(f"{type(self).__name__}: {label} must be a non-empty string, got {key!r}.")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string, got {name!r}.")
        self.input_messages_key = input_messages_key
        self.output_messages_key = output_messages_key
        super().__init__(func, afunc=afunc, name=name)
        self._declare_schema()

    # ---- the declared state schema --------------------------------------------------------

    @property
    def rewrites_history(self) -> bool:
        """Whether this node writes the history itself (``output_messages_key == input_messages_key``)."""
        return self.output_messages_key == self.input_messages_key

    def state_keys(self) -> dict[str, Any]:
        """The state keys this node reads or writes, with their types (reducers included)."""
        keys: dict[str, Any] = {self.input_messages_key: list[AnyMessage]}
        if self.output_messages_key is not None and not self.rewrites_history:
            keys[self.output_messages_key] = list[AnyMessage]
            keys[source_key(self.output_messages_key)] = str
        return keys

    def _declare_schema(self) -> None:
        # LangGraph's add_node infers a node's input schema from its ``__call__`` annotation
        # and merges that schema's channels into the graph: a per-instance annotation brings
        # this node's own keys (its options name them) to any graph state.
        schema = TypedDict(f"{type(self).__name__}State", self.state_keys(), total=False)  # type: ignore[operator]

        def __call__(node: Any, state: Any, config: RunnableConfig | None = None) -> Any:
            return node.invoke(state, config)

        __call__.__annotations__ = {"state": schema, "config": RunnableConfig | None, "return": dict[str, Any]}
        self.state_schema = schema
        self.__call__ = types.MethodType(__call__, self)  # type: ignore[method-assign]

    def __call__(self, state: Any, config: RunnableConfig | None = None) -> Any:
        """Run the node (as ``invoke``)."""
        return self.invoke(state, config)

    # ---- reading and writing ----------------------------------------------------------------

    def history(self, state: Any) -> list[BaseMessage]:
        """The thread's history in ``state``.

        Raises:
            KeyError: naming the key and the option that sets it.
        """
        messages = _get(state, self.input_messages_key)
        if messages is None:
            raise KeyError(
                f"{type(self).__name__} {self.name!r} found no {self.input_messages_key!r} in the graph state; "
                "set input_messages_key= to the key that holds the conversation."
            )
        return list(messages)

    def source(self, state: Any) -> tuple[list[BaseMessage], list[BaseMessage]]:
        """``(history, what to build on)``: the current model input if there is one, else the history."""
        history = self.history(state)
        if self.output_messages_key is None or self.rewrites_history:
            return history, history
        view = current_view(state, history, self.output_messages_key)
        return history, (view if view is not None else history)

    def view_update(self, history: Sequence[BaseMessage], view: list[BaseMessage]) -> dict[str, Any]:
        """The state update that sets the model input to ``view``, stamped with ``history``."""
        assert self.output_messages_key is not None
        return {self.output_messages_key: view, source_key(self.output_messages_key): history_stamp(history)}
