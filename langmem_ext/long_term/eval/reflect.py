"""LoCoMo conversations played through :class:`~langmem_ext.long_term.ReflectionNode`.

This is what a user gets: no ready-made facts, only what reflection writes. Each
conversation is played session by session, in order, the way a chat graph would hand
its messages to the node after a session:

* every turn is a ``HumanMessage`` named after its speaker (LoCoMo's two speakers are both
  people; neither is the assistant), with the dialogue id as the message id and the
  session date as its ``timestamp`` (turns ``turn_spacing`` apart, so their order
  survives), and a shared photo's caption appended as ``[shares a photo: ...]`` (the
  text a captioning step would give a text-only model);
* one thread per session (``thread_id = "<sample>:<session>"``), one reflection per
  session, the user being the sample id;
* the memories land under ``(*namespace, kind)``; a retrieved memory stands for the
  turns of its ``source_ids`` (the message ids reflection drew it from).

Example:
    >>> from datetime import datetime, timezone
    >>> from langmem_ext.long_term.eval.locomo import LocomoTurn
    >>> t = LocomoTurn("D1:4", 1, "Ben", "Look!", datetime(2023, 3, 3, 10, tzinfo=timezone.utc),
    ...                caption="a photo of a dog")
    >>> m = turn_message(t, position=3)
    >>> m.id, m.name, m.content, m.additional_kwargs["timestamp"]
    ('D1:4', 'Ben', 'Look! [shares a photo: a photo of a dog]', '2023-03-03T10:03:00+00:00')
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import RunnableLambda
from langgraph.store.base import BaseStore

from langmem_ext.long_term.eval.locomo import LocomoConversation, LocomoTurn

__all__ = [
    "CallCounter",
    "ReflectionStats",
    "reflect_conversation",
    "reflection_node",
    "session_messages",
    "turn_message",
]

KINDS = ("semantic", "episodic", "procedural")


def turn_message(turn: LocomoTurn, *, position: int, turn_spacing: timedelta = timedelta(minutes=1)) -> HumanMessage:
    """One dialogue turn as the message a chat graph would hold (see the module docstring)."""
    text = turn.text
    if turn.caption:
        text = f"{text} [shares a photo: {turn.caption}]".strip()
    when = turn.date + position * turn_spacing
    return HumanMessage(text, id=turn.dia_id, name=turn.speaker, additional_kwargs={"timestamp": when.isoformat()})


def session_messages(conv: LocomoConversation, session: int, *, turn_spacing: timedelta = timedelta(minutes=1)) -> list[BaseMessage]:
    """The messages of one session, in order."""
    turns = [t for t in conv.turns if t.session == session]
    return [turn_message(t, position=i, turn_spacing=turn_spacing) for i, t in enumerate(turns)]


class CallCounter(BaseCallbackHandler):
    """Counts chat-model and LLM calls made under a run (retries count as calls)."""

    def __init__(self) -> None:
        self.calls = 0

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.calls += 1

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.calls += 1


@dataclass
class ReflectionStats:
    """What reflection did over the conversations of one eval run."""

    extractor: str = "offline"
    """``"offline"`` (the heuristic extractor) or the memory model's name."""
    sessions: int = 0
    turns: int = 0
    written: Counter[str] = field(default_factory=Counter)
    """Memories inserted, by kind."""
    closed: int = 0
    """Stored facts closed (superseded) or memories archived by a later session."""
    skipped: int = 0
    """Exchanges curation skipped as carrying no new information."""
    llm_calls: int = 0
    session_seconds: list[float] = field(default_factory=list)

    def add(self, applied: Any, *, skipped: int = 0) -> None:
        for key in applied.inserted:
            memory = applied.memories.get(key)
            if memory is not None:
                self.written[memory.kind] += 1
        self.closed += sum(1 for key in applied.updated if _closed(applied.memories.get(key)))
        self.skipped += skipped

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures: memories per turn by kind, seconds per session, LLM calls."""
        secs = sorted(self.session_seconds)
        turns = self.turns or 1
        return {
            "extractor": self.extractor,
            "sessions": self.sessions,
            "turns": self.turns,
            "written": {k: self.written.get(k, 0) for k in KINDS} | dict(self.written),
            "written_per_turn": {k: round(self.written.get(k, 0) / turns, 3) for k in {*KINDS, *self.written}},
            "closed": self.closed,
            "skipped_exchanges": self.skipped,
            "llm_calls": self.llm_calls,
            "session_seconds": {
                "mean": round(sum(secs) / len(secs), 4) if secs else 0.0,
                "p50": round(secs[len(secs) // 2], 4) if secs else 0.0,
                "max": round(secs[-1], 4) if secs else 0.0,
                "total": round(sum(secs), 2),
            },
        }


def _closed(memory: Any) -> bool:
    if memory is None:
        return False
    return getattr(memory, "valid_to", None) is not None or memory.status == "archived"


def reflection_node(namespace: Sequence[str], *, model: Any = None, **options: Any) -> Any:
    """A ReflectionNode writing every kind under ``(*namespace, kind)`` (``{user_id}`` allowed)."""
    from langmem_ext.long_term.reflection import ReflectionNode

    ns = tuple(namespace)
    return ReflectionNode(
        model=model,
        namespaces={k: (*ns, k) for k in KINDS},
        cursor_namespace=(*ns, "reflection_cursor"),
        on_error="raise",
        **options,
    )


def reflect_conversation(
    node: Any,
    store: BaseStore,
    conv: LocomoConversation,
    *,
    stats: ReflectionStats,
    user_id: str | None = None,
    turn_spacing: timedelta = timedelta(minutes=1),
) -> ReflectionStats:
    """Play ``conv`` through ``node`` session by session (see the module docstring).

    The node's model calls run under a :class:`CallCounter` (passed as a callback, as a
    graph's run config would), so ``stats.llm_calls`` counts what reflection asked of it.
    """
    counter = CallCounter()
    user = user_id or conv.sample_id
    for session in sorted(conv.session_dates):
        messages = session_messages(conv, session, turn_spacing=turn_spacing)
        if not messages:
            continue
        config: Mapping[str, Any] = {"configurable": {"user_id": user, "thread_id": f"{conv.sample_id}:{session}"}}
        started = time.perf_counter()
        result = RunnableLambda(lambda msgs: node.reflect(msgs, config=config, store=store)).invoke(
            messages, config={"callbacks": [counter]}
        )
        stats.session_seconds.append(time.perf_counter() - started)
        stats.sessions += 1
        stats.turns += len(messages)
        stats.add(result.applied, skipped=int(getattr(result, "skipped_exchanges", 0) or 0))
    stats.llm_calls += counter.calls
    return stats
