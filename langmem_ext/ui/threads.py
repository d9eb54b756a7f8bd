"""Short-term memory made visible: a user's threads as the checkpointer keeps them.

This is the one place the memory browser reads the checkpointer (any LangGraph
``BaseCheckpointSaver``; our ``RedisSaver`` lists its threads without a scan). A
thread belongs to the user whose ``user_id`` LangGraph copied from the run config
into its newest checkpoint's metadata.

:func:`thread_view` shapes one thread for the page: the full history, the running
summary, and the last model input (``llm_input_messages``, else the history) with
token counts, the recalled memory block and the summary message marked, and each
history message marked as *sent* (in the model input) or *summarised* (folded into
the running summary).

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    >>> from langmem_ext.long_term import MEMORY_BLOCK_ID
    >>> values = {
    ...     "messages": [HumanMessage("hi, I live in Lisbon", id="h1"), AIMessage("Hello!", id="a1"),
    ...                  HumanMessage("where do I live?", id="h2")],
    ...     "llm_input_messages": [SystemMessage("<memories>Lives in Lisbon</memories>", id=MEMORY_BLOCK_ID),
    ...                            HumanMessage("where do I live?", id="h2")],
    ...     "running_summary": {"text": "The user said hello.", "covered_ids": ["h1", "a1"]},
    ... }
    >>> view = shape_thread("t1", values)
    >>> [m.marks for m in view.model_input]
    [['recalled'], []]
    >>> [m.marks for m in view.history]
    [['summarised'], ['summarised'], ['sent']]
    >>> view.recalled_block
    '<memories>Lives in Lisbon</memories>'
    >>> view.model_input_tokens > view.model_input[1].tokens > 0
    True
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

__all__ = [
    "ForgottenThreads",
    "MessageRow",
    "ThreadSummary",
    "ThreadView",
    "forget_threads",
    "list_threads",
    "shape_thread",
    "thread_view",
]


@dataclass
class MessageRow:
    """One message as the page shows it."""

    role: str
    id: str | None
    text: str
    tokens: int
    marks: list[str] = field(default_factory=list)
    """``recalled`` (the memory block), ``summary`` (the running summary message), ``sent``
    (a history message that is in the model input), ``summarised`` (folded into the summary)."""


@dataclass
class ThreadSummary:
    """One line of a user's thread list."""

    thread_id: str
    updated_at: str
    messages: int
    last_text: str


@dataclass
class ThreadView:
    """One thread, shaped for the page (see the module docstring)."""

    thread_id: str
    history: list[MessageRow]
    model_input: list[MessageRow]
    history_tokens: int
    model_input_tokens: int
    recalled_block: str
    summary: dict[str, Any] | None
    updated_at: str = ""
    checkpoint_id: str = ""
    model_input_is_history: bool = False
    """True when the state has no ``llm_input_messages``: the model saw the history itself."""
    built_from: int | None = None
    """How many messages of the history the model input was built from (its source stamp,
    ``contract.history_stamp``); None when it cannot be told (no stamp, or the history has
    changed underneath, e.g. messages deleted since)."""


def _text(message: BaseMessage) -> str:
    from langmem_ext.messages import message_text

    text = message_text(message)
    if isinstance(message, AIMessage) and message.tool_calls:
        calls = "; ".join(f"{c['name']}({json.dumps(c['args'], ensure_ascii=False)})" for c in message.tool_calls)
        text = f"{text}\n[tool calls] {calls}".strip()
    if isinstance(message, ToolMessage):
        text = f"[result of {message.tool_call_id}] {text}"
    return text


def _model_input(values: Mapping[str, Any]) -> tuple[list[BaseMessage], bool]:
    given = values.get("llm_input_messages")
    if given:
        return list(given), False
    return list(values.get("messages") or []), True


def built_from(values: Mapping[str, Any], history: Sequence[BaseMessage]) -> int | None:
    """How many leading messages of ``history`` the stored model input was built from (pure).

    The memory nodes stamp the input with the history they read (``llm_input_source``); after
    the model's reply the history has grown, so the stamp matches a prefix of it.

    >>> from langchain_core.messages import HumanMessage
    >>> from langmem_ext.contract import history_stamp
    >>> history = [HumanMessage("hi", id="1"), AIMessage("hello", id="2")]
    >>> built_from({"llm_input_source": history_stamp(history[:1])}, history)
    1
    >>> built_from({"llm_input_source": "3:0000"}, history) is None
    True
    """
    from langmem_ext.contract import MODEL_INPUT_KEY, history_stamp, source_key

    stamp = values.get(source_key(MODEL_INPUT_KEY))
    if not isinstance(stamp, str) or ":" not in stamp:
        return None
    count = stamp.split(":", 1)[0]
    if not count.isdigit() or int(count) > len(history):
        return None
    n = int(count)
    return n if history_stamp(history[:n]) == stamp else None


def shape_thread(thread_id: str, values: Mapping[str, Any], *, counter: Any = None,
                 updated_at: str = "", checkpoint_id: str = "") -> ThreadView:
    """Shape a thread's state values for the page (pure)."""
    from langmem_ext.long_term import MEMORY_BLOCK_ID
    from langmem_ext.short_term import MessageTokenCounter
    from langmem_ext.short_term.messages import is_summary_message

    counter = counter or MessageTokenCounter()
    history = list(values.get("messages") or [])
    model_input, same = _model_input(values)
    summary = values.get("running_summary")
    if summary is not None and hasattr(summary, "model_dump"):
        summary = summary.model_dump()
    covered = set((summary or {}).get("covered_ids") or [])
    sent = {m.id for m in model_input if m.id}

    def row(message: BaseMessage, marks: list[str]) -> MessageRow:
        return MessageRow(message.type, message.id, _text(message), counter.count_message(message), marks)

    input_rows = []
    recalled = ""
    for m in model_input:
        marks = []
        if m.id == MEMORY_BLOCK_ID:
            marks.append("recalled")
            recalled = str(m.content)
        elif is_summary_message(m):
            marks.append("summary")
        input_rows.append(row(m, marks))
    history_rows = []
    for m in history:
        marks = []
        if m.id == MEMORY_BLOCK_ID:
            marks.append("recalled")
        if m.id in covered:
            marks.append("summarised")
        if not same and m.id in sent:
            marks.append("sent")
        history_rows.append(row(m, marks))
    return ThreadView(
        thread_id=thread_id,
        history=history_rows,
        model_input=input_rows,
        history_tokens=counter(history),
        model_input_tokens=counter(model_input),
        recalled_block=recalled,
        summary=dict(summary) if summary else None,
        updated_at=updated_at,
        checkpoint_id=checkpoint_id,
        model_input_is_history=same,
        built_from=None if same else built_from(values, history),
    )


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


def _thread_ids(saver: Any) -> Iterable[str]:
    listed = getattr(saver, "thread_ids", None)
    if callable(listed):  # our RedisSaver keeps a registry of its threads
        yield from listed()
        return
    seen: set[str] = set()
    for tup in saver.list(None):
        tid = str(tup.config["configurable"]["thread_id"])
        if tid not in seen:
            seen.add(tid)
            yield tid


def _stamp(ts: Any) -> str:
    if not ts:
        return ""
    try:
        return datetime.fromisoformat(str(ts)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return str(ts)


def list_threads(saver: Any, user_id: str, *, limit: int = 200) -> list[ThreadSummary]:
    """The user's threads, newest first: those whose newest checkpoint names ``user_id``.

    Reads each thread's newest checkpoint once (``limit`` caps how many of the user's
    threads are returned, not how many are read).
    """
    found = []
    for tid in _thread_ids(saver):
        tup = saver.get_tuple(_config(tid))
        if tup is None or (tup.metadata or {}).get("user_id") != user_id:
            continue
        messages: Sequence[BaseMessage] = tup.checkpoint.get("channel_values", {}).get("messages") or []
        last = _text(messages[-1])[:160] if messages else ""
        found.append(ThreadSummary(tid, _stamp(tup.checkpoint.get("ts")), len(messages), last))
    found.sort(key=lambda t: t.updated_at, reverse=True)
    return found[:limit]


def thread_view(saver: Any, thread_id: str, *, user_id: str | None = None) -> ThreadView | None:
    """One thread as :func:`shape_thread` shapes it; None if absent (or another user's)."""
    tup = saver.get_tuple(_config(thread_id))
    if tup is None:
        return None
    if user_id is not None and (tup.metadata or {}).get("user_id") != user_id:
        return None
    values = tup.checkpoint.get("channel_values", {})
    return shape_thread(thread_id, values, updated_at=_stamp(tup.checkpoint.get("ts")),
                        checkpoint_id=str(tup.checkpoint.get("id", "")))


@dataclass
class ForgottenThreads:
    """What :func:`forget_threads` erased, and what a check afterwards still found."""

    deleted: int
    remaining: int
    """Threads of the user still listed, plus (on our RedisSaver) keys of the erased threads a SCAN found."""


def forget_threads(saver: Any, user_id: str) -> ForgottenThreads:
    """Delete every thread of ``user_id``, then check that none is left.

    On our ``RedisSaver`` the check is a keyspace SCAN for each erased thread's keys
    (independent of the thread registry); on other savers it lists the threads again.
    """
    ids = [t.thread_id for t in list_threads(saver, user_id, limit=1_000_000)]
    for tid in ids:
        saver.delete_thread(tid)
    left = len(list_threads(saver, user_id, limit=1_000_000))
    client, prefix = getattr(saver, "client", None), getattr(saver, "key_prefix", None)
    if ids and client is not None and isinstance(prefix, str):
        from langmem_ext.checkpoint._keys import thread_keys

        for tid in ids:
            tag = thread_keys(prefix, tid).idx.rsplit(":", 1)[0]  # "<prefix>:{t:<escaped id>}"
            pattern = "".join("\\" + c if c in "*?[]\\" else c for c in tag) + ":*"
            left += sum(1 for _ in client.scan_iter(match=pattern, count=1000))
    return ForgottenThreads(deleted=len(ids), remaining=left)
