"""Dead letters: background reflections that failed every retry, kept in the store to retry later.

When :class:`~langmem_ext.long_term.executor.ReflectionExecutor` gives up on a
reflection it writes ONE item to the store the reflection used, instead of only
logging the loss:

* namespace: the reflection cursor's namespace with its last label replaced by
  ``"reflection_dead_letters"`` (by default ``("memories", USER, "reflection_dead_letters")``,
  so ``forget_user`` erases it with the rest of the user's data);
* key: the thread id, so a thread has at most one entry (a later failure of the
  same thread merges its messages into it);
* value: a :class:`DeadLetter` — the run config's plain ``configurable`` keys, the
  messages (LangChain's ``messages_to_dict``), the error text, attempts and times;
  not embedded (``index=False``).

Bounded: at most ``MAX_MESSAGES`` messages (the newest) and ``MAX_VALUE_BYTES`` of
messages per entry, ``MAX_ERROR_CHARS`` of error text, and ``MAX_PER_NAMESPACE``
entries per user (the oldest is dropped, with a WARNING). :func:`retry_dead_letters`
reflects on an entry's messages again with the model (``reflect(..., retry=True)``: messages
only the offline extractor handled count as new; any the model saw meanwhile are skipped)
and deletes the entry on success; a failure updates it.

A foreground or background reflection whose model call failed writes what the offline
extractor found and leaves such an entry too, so the model gets those messages later.

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> from langgraph.store.memory import InMemoryStore
    >>> from langmem_ext.long_term.reflection import ReflectionNode
    >>> store, node = InMemoryStore(), ReflectionNode()  # the offline extractor
    >>> config = {"configurable": {"user_id": "u1", "thread_id": "t1"}}
    >>> letter = dead_letter([HumanMessage("I live in Porto.", id="a")], config=config,
    ...                      error=RuntimeError("model down"), attempts=4)
    >>> save_dead_letter(store, dead_letter_namespace(node, config), letter)
    >>> [(d.thread_id, d.error) for d in list_dead_letters(store, node)]
    [('t1', 'RuntimeError: model down')]
    >>> retry_dead_letters(store, node)
    (1, 0)
    >>> list_dead_letters(store, node), [i.value["content"] for i in store.search(("memories", "u1", "semantic"))]
    ([], ['User lives in Porto'])
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from langchain_core.messages import BaseMessage, messages_from_dict, messages_to_dict
from langchain_core.runnables import RunnableConfig
from langgraph.store.base import BaseStore, GetOp, ListNamespacesOp, MatchCondition, PutOp, SearchOp
from pydantic import BaseModel, Field

from langmem_ext.long_term._io import Batch, Gen, Twin, run_async, run_sync
from langmem_ext.long_term.namespaces import resolve_namespace, unfilled_placeholders
from langmem_ext.long_term.schemas import utcnow
from langmem_ext.messages import merge_messages

__all__ = [
    "DEAD_LETTER_LABEL",
    "DeadLetter",
    "alist_dead_letters",
    "aretry_dead_letters",
    "asave_dead_letter",
    "dead_letter",
    "dead_letter_namespace",
    "list_dead_letters",
    "retry_dead_letters",
    "listing_dead_letters",
    "retrying_dead_letters",
    "save_dead_letter",
    "saving_dead_letter",
]

logger = logging.getLogger(__name__)

DEAD_LETTER_LABEL = "reflection_dead_letters"
"""Last namespace label of the dead-letter list (it replaces the cursor namespace's last label)."""
MAX_MESSAGES = 500
"""Messages kept per entry (the newest)."""
MAX_VALUE_BYTES = 256 * 1024
"""Serialised messages kept per entry (the newest that fit)."""
MAX_ERROR_CHARS = 2000
"""Characters of error text kept."""
MAX_PER_NAMESPACE = 100
"""Entries kept per namespace (per user by default); the oldest is dropped first."""


class DeadLetter(BaseModel):
    """A background reflection that failed every retry (one per thread)."""

    thread_id: str = Field(description="The thread whose messages were not reflected on; the store key.")
    configurable: dict[str, Any] = Field(
        default_factory=dict, description="The run config's JSON-safe configurable keys (user_id, thread_id, ...)."
    )
    messages: list[dict[str, Any]] = Field(default_factory=list, description="The messages, as messages_to_dict.")
    dropped_messages: int = Field(default=0, ge=0, description="Older messages not kept (over the size bounds).")
    error: str = Field(description="The last error: type and message, truncated.")
    attempts: int = Field(default=1, ge=1, description="Failed attempts so far, retries included.")
    first_failed_at: datetime = Field(default_factory=utcnow, description="When the entry was first written (UTC).")
    failed_at: datetime = Field(default_factory=utcnow, description="When the last attempt failed (UTC).")

    def config(self) -> RunnableConfig:
        """The run config to retry with."""
        return {"configurable": dict(self.configurable)}

    def to_messages(self) -> list[BaseMessage]:
        """The messages to reflect on again."""
        return messages_from_dict(self.messages)


def _plain(configurable: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in configurable.items()
            if isinstance(k, str) and not k.startswith("__") and isinstance(v, (str, int, float, bool))}


def _bounded(messages: Sequence[BaseMessage]) -> tuple[list[dict[str, Any]], int]:
    """The newest messages that fit ``MAX_MESSAGES`` and ``MAX_VALUE_BYTES``, and how many were dropped."""
    dumped = messages_to_dict(list(messages)[-MAX_MESSAGES:])
    kept: list[dict[str, Any]] = []
    size = 0
    for item in reversed(dumped):
        size += len(json.dumps(item, default=str).encode())
        if size > MAX_VALUE_BYTES:
            break
        kept.append(item)
    kept.reverse()
    return kept, len(messages) - len(kept)


def dead_letter(
    messages: Sequence[BaseMessage], *, config: RunnableConfig, error: BaseException | str, attempts: int,
    previous: DeadLetter | None = None,
) -> DeadLetter:
    """The entry for a reflection of ``messages`` that failed (merged into ``previous`` of the thread)."""
    configurable = _plain((config or {}).get("configurable") or {})
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    if previous is not None:
        messages = merge_messages(previous.to_messages(), messages)
    kept, dropped = _bounded(messages)
    return DeadLetter(
        thread_id=str(configurable.get("thread_id") or "default"),
        configurable=configurable,
        messages=kept,
        dropped_messages=dropped + (previous.dropped_messages if previous else 0),
        error=text[:MAX_ERROR_CHARS],
        attempts=attempts + (previous.attempts if previous else 0),
        first_failed_at=previous.first_failed_at if previous else utcnow(),
    )


def dead_letter_namespace(node: Any, config: RunnableConfig) -> tuple[str, ...]:
    """Where ``node``'s dead letters for ``config`` live (next to its reflection cursor)."""
    return resolve_namespace((*tuple(node.cursor_namespace)[:-1], DEAD_LETTER_LABEL), config)


def _list_op(node: Any) -> ListNamespacesOp:
    template = (*tuple(node.cursor_namespace)[:-1], DEAD_LETTER_LABEL)
    fixed = []
    for label in template:
        if unfilled_placeholders(label):
            break
        fixed.append(label)
    conditions = [MatchCondition("suffix", (DEAD_LETTER_LABEL,))]
    if fixed:
        conditions.append(MatchCondition("prefix", tuple(fixed)))
    return ListNamespacesOp(match_conditions=tuple(conditions), max_depth=None, limit=100_000)


def _search_ops(namespaces: Sequence[tuple[str, ...]]) -> list[SearchOp]:
    return [SearchOp(tuple(ns), limit=MAX_PER_NAMESPACE + 1) for ns in namespaces]


def _letters(results: Sequence[Any]) -> list[tuple[tuple[str, ...], DeadLetter]]:
    out = []
    for items in results:
        for item in items or []:
            try:
                out.append((tuple(item.namespace), DeadLetter.model_validate(item.value)))
            except ValueError:
                logger.warning("Skipping an unreadable dead letter %s/%s.", item.namespace, item.key)
    return sorted(out, key=lambda pair: pair[1].failed_at)


def _save_ops(namespace: tuple[str, ...], letter: DeadLetter, others: Sequence[Any]) -> list[PutOp]:
    ops = [PutOp(namespace, letter.thread_id, letter.model_dump(mode="json"), index=False)]
    rest = sorted((i for i in others if i.key != letter.thread_id), key=lambda i: str(i.value.get("failed_at", "")))
    for item in rest[: max(0, len(rest) - MAX_PER_NAMESPACE + 1)]:
        logger.warning("Dead-letter list %s is full: dropping the entry of thread %s.", namespace, item.key)
        ops.append(PutOp(namespace, item.key, None))
    return ops


def _merge(letter: DeadLetter, stored: Any) -> DeadLetter:
    if stored is None:
        return letter
    try:
        previous = DeadLetter.model_validate(stored.value)
    except ValueError:
        return letter
    return dead_letter(letter.to_messages(), config=letter.config(), error=letter.error, attempts=letter.attempts,
                       previous=previous)


def saving_dead_letter(namespace: Sequence[str], letter: DeadLetter) -> Gen[None]:
    """:func:`save_dead_letter` as an operation (:mod:`~langmem_ext.long_term._io`)."""
    ns = tuple(namespace)
    stored, others = yield Batch([GetOp(ns, letter.thread_id), SearchOp(ns, limit=MAX_PER_NAMESPACE + 1)])
    yield Batch(_save_ops(ns, _merge(letter, stored), others))


def save_dead_letter(store: BaseStore, namespace: Sequence[str], letter: DeadLetter) -> None:
    """Write ``letter`` (merged with the thread's existing entry), keeping the list bounded."""
    run_sync(store, saving_dead_letter(namespace, letter))


async def asave_dead_letter(store: BaseStore, namespace: Sequence[str], letter: DeadLetter) -> None:
    """Async :func:`save_dead_letter`."""
    await run_async(store, saving_dead_letter(namespace, letter))


def listing_dead_letters(node: Any, config: RunnableConfig | None) -> Gen[list[tuple[tuple[str, ...], DeadLetter]]]:
    """(namespace, letter) of ``config``'s user, or of every user, oldest failure first (an operation)."""
    if config is not None:
        namespaces = [dead_letter_namespace(node, config)]
    else:
        (listed,) = yield Batch([_list_op(node)])
        namespaces = [tuple(ns) for ns in listed]
    return _letters((yield Batch(_search_ops(namespaces))))


def list_dead_letters(store: BaseStore, node: Any, *, config: RunnableConfig | None = None) -> list[DeadLetter]:
    """The dead letters of ``node`` (oldest failure first): of ``config``'s user, or of every user."""
    return [letter for _, letter in run_sync(store, listing_dead_letters(node, config))]


async def alist_dead_letters(store: BaseStore, node: Any, *, config: RunnableConfig | None = None) -> list[DeadLetter]:
    """Async :func:`list_dead_letters`."""
    return [letter for _, letter in await run_async(store, listing_dead_letters(node, config))]


def _retried(letter: DeadLetter, exc: Exception) -> DeadLetter:
    logger.warning("Retrying the dead letter of thread %s failed again: %s", letter.thread_id, exc)
    return letter.model_copy(update={"error": f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS],
                                     "attempts": letter.attempts + 1, "failed_at": utcnow()})


def retrying_dead_letters(store: BaseStore, node: Any, config: RunnableConfig | None) -> Gen[tuple[int, int]]:
    """:func:`retry_dead_letters` as an operation."""
    done = failed = 0
    for ns, letter in (yield from listing_dead_letters(node, config)):
        messages, run = letter.to_messages(), letter.config()
        try:
            yield Twin(lambda: node.reflect(messages, config=run, store=store, retry=True),
                       lambda: node.areflect(messages, config=run, store=store, retry=True))
        except Exception as exc:
            yield Batch([PutOp(ns, letter.thread_id, _retried(letter, exc).model_dump(mode="json"), index=False)])
            failed += 1
            continue
        yield Batch([PutOp(ns, letter.thread_id, None)])
        done += 1
    return done, failed


def retry_dead_letters(store: BaseStore, node: Any, *, config: RunnableConfig | None = None) -> tuple[int, int]:
    """Reflect on every dead letter again (of ``config``'s user, or all); returns (succeeded, failed).

    A success deletes the entry; a failure keeps it with the new error and attempt count.
    """
    return run_sync(store, retrying_dead_letters(store, node, config))


async def aretry_dead_letters(store: BaseStore, node: Any, *, config: RunnableConfig | None = None) -> tuple[int, int]:
    """Async :func:`retry_dead_letters`."""
    return await run_async(store, retrying_dead_letters(store, node, config))
