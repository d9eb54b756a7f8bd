"""What the reflection model writes, and how our code turns it into memory operations.

The model writes only content: per operation its ``op`` (insert / update / close /
delete), the memory ``kind``, the ``target`` (a short alias such as ``m2`` from the
stored-memories list, for update / close / delete), the ``content`` (what the fact,
episode or rule says) and an ``importance`` from 1 to 10. Everything else comes from
the messages and the clock, never from the model:

* ids are new UUIDs; a target alias maps to the stored memory's real id;
* ``source_ids`` are the ids of the user's messages the content is grounded in;
* ``valid_from`` / ``occurred_at`` are those messages' timestamps (or now);
* relative dates in the content ("tomorrow") are resolved against them by
  :func:`~langmem_ext.long_term.dates.annotate_dates`.

:data:`reflection_json_schema` follows OpenAI's strict-mode rules; content is capped at
:data:`MAX_CONTENT` characters and a reflection at ``max_operations`` operations.
:func:`read_operations` validates operation by operation: one bad operation drops itself
(clamped importance, cut content, unknown target: logged), not the batch.

Grounding (:func:`grounding`): an insert or update of a semantic fact, an episode or a
rule must be found in what the USER wrote in the new messages. What the assistant said
about itself ("I am Sam, a translator") never becomes a fact about the user.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> new = [HumanMessage("I live in Lisbon now.", id="h1"), AIMessage("I am Sam, a translator.", id="a1")]
    >>> ops = read_operations({"operations": [
    ...     {"op": "insert", "kind": "semantic", "target": "", "content": "User lives in Lisbon", "importance": 14},
    ...     {"op": "insert", "kind": "semantic", "target": "", "content": "User is Sam, a translator", "importance": 5},
    ...     {"op": "close", "kind": "semantic", "target": "m9", "content": "", "importance": 5},
    ... ]}, kinds=["semantic"], aliases={})
    >>> [(o.op, o.content, o.importance) for o in ops]
    [('insert', 'User lives in Lisbon', 10), ('insert', 'User is Sam, a translator', 5)]
    >>> [op["memory"]["content"] for op in to_operations(ops, new, known={}, aliases={})]
    ['User lives in Lisbon']
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage

from langmem_ext.long_term.dates import annotate_dates, message_time
from langmem_ext.long_term.render import memory_line
from langmem_ext.long_term.schemas import MemoryBase, memory_text, utcnow
from langmem_ext.messages import message_text
from langmem_ext.messages import split_sentences as sentences

__all__ = [
    "MAX_CONTENT",
    "MAX_OPERATIONS",
    "ModelOperation",
    "grounding",
    "read_operations",
    "reflection_json_schema",
    "stored_block",
    "to_operations",
]

logger = logging.getLogger(__name__)

MAX_CONTENT = 300
"""Characters of content per operation."""
MAX_OPERATIONS = 8
"""Operations one reflection may return (the default; ``ReflectionNode(max_operations=...)``)."""
GROUNDED = {"semantic": 0.5, "procedural": 0.6, "episodic": 0.4}
"""Share of an insert's content words that must appear in the user's own words, per kind."""

_OPS = ("insert", "update", "close", "delete")
_TEXT_FIELD = {"semantic": "content", "episodic": "situation", "procedural": "rule"}
_WORD = re.compile(r"[a-z0-9][a-z0-9']{2,}")
_SUBJECT = frozenset({"user", "user's", "users", "the", "and", "that", "this", "with", "from", "for", "has", "have",
                      "was", "were", "are", "his", "her", "their", "they", "them", "who", "which", "about", "into",
                      "been", "being", "also", "now", "not", "does", "did", "will", "would", "should", "can",
                      "could", "assistant", "said", "says", "told", "asked", "mentioned", "named", "called"})
# verbs a fact may paraphrase ("I moved to Lisbon" -> "User lives in Lisbon"): they ground nothing
_GENERIC = frozenset({"live", "lives", "living", "lived", "move", "moved", "moving", "moves", "like", "likes", "liked",
                      "love", "loves", "loved", "work", "works", "worked", "working", "want", "wants", "wanted",
                      "need", "needs", "enjoy", "enjoys", "prefer", "prefers", "hate", "hates", "plan", "plans",
                      "planned", "planning", "own", "owns", "get", "gets", "got", "make", "makes", "use", "uses",
                      "currently", "really", "very", "some", "any", "one", "two", "three", "its", "it's"})


_MODEL_NEVER_WRITES = frozenset({"id", "kind", "created_at", "updated_at", "last_accessed_at", "access_count", "strength",
                                 "pinned", "status", "version", "history", "source_ids", "valid_from", "valid_to",
                                 "occurred_at", "confidence"})


def _fields_of(kind: str) -> set[str]:
    from langmem_ext.long_term.schemas import memory_kinds

    model = memory_kinds().get(kind)
    return set(model.model_fields) if model is not None else set()


@dataclass(frozen=True)
class ModelOperation:
    """One validated operation as the model wrote it (``target`` resolved to a real id)."""

    op: str
    kind: str
    target: str
    content: str
    importance: int
    fields: Mapping[str, Any] | None = None
    """The fields of a custom memory kind (registered with ``register_memory_kind``), if given."""


def reflection_json_schema(kinds: Sequence[str], *, max_operations: int = MAX_OPERATIONS) -> dict[str, Any]:
    """The JSON schema of one reflection answer (valid under OpenAI's strict-mode rules,
    once :func:`~langmem_ext.llm.structured.for_endpoint` has moved ``maxLength`` into words).

    Example:
        >>> from langmem_ext.llm.structured import for_endpoint, strict_problems
        >>> strict_problems(for_endpoint(reflection_json_schema(["semantic", "episodic"]), is_openai=True))
        []
    """
    item = {
        "type": "object", "additionalProperties": False,
        "required": ["op", "kind", "target", "content", "importance"],
        "properties": {
            "op": {"type": "string", "enum": list(_OPS),
                   "description": "insert a new memory; update, close (no longer true) or delete a stored one."},
            "kind": {"type": "string", "enum": list(kinds), "description": "The memory kind."},
            "target": {"type": "string", "maxLength": 12,
                       "description": "For update / close / delete: the stored memory's id as listed (e.g. m2). "
                                      "Empty for insert."},
            "content": {"type": "string", "maxLength": MAX_CONTENT,
                        "description": "What the memory says: one self-contained sentence about the user (semantic), "
                                       "what happened (episodic) or the rule to follow (procedural). Empty for "
                                       "close / delete."},
            "importance": {"type": "integer", "minimum": 1, "maximum": 10,
                           "description": "1 (trivia) to 10 (critical)."},
        },
    }
    return {
        "type": "object", "additionalProperties": False, "required": ["operations"],
        "properties": {"operations": {"type": "array", "items": item, "maxItems": max_operations,
                                      "description": "The memory operations; empty when nothing is worth remembering."}},
    }


def stored_block(known: Mapping[str, tuple[Any, MemoryBase]]) -> tuple[str, dict[str, str]]:
    """The stored memories shown to the model, with short aliases (``m1``...) instead of UUIDs.

    Returns:
        The lines, and alias -> real id.
    """
    aliases: dict[str, str] = {}
    lines = []
    for number, (key, (_, memory)) in enumerate(known.items(), 1):
        alias = f"m{number}"
        aliases[alias] = key
        lines.append(f"{alias} {memory_line(memory, with_id=False)[2:]}")
    return "\n".join(lines) or "(none)", aliases


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in ("operations", "ops", "memories", "items"):
            if isinstance(value.get(key), list):
                return value[key]
        if "op" in value or "action" in value:
            return [value]
    raise ValueError("the answer must be an object with an 'operations' list")


def _legacy_content(item: Mapping[str, Any]) -> str:
    memory = item.get("memory")
    if isinstance(memory, Mapping):
        for key in ("content", "rule", "situation"):
            if memory.get(key):
                return str(memory[key])
    return ""


def _importance(raw: Any) -> int:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return 5
    return int(min(10, max(1, round(value)))) if value == value else 5


def read_operations(value: Any, *, kinds: Sequence[str], aliases: Mapping[str, str],
                    known: Mapping[str, tuple[Any, MemoryBase]] | None = None) -> list[ModelOperation]:
    """The valid operations of a model's answer; each invalid one is dropped with a WARNING.

    Lenient where it is safe: ``action`` / ``id`` / ``memory.content`` (the older, verbose
    shape) are read too, importance is clamped to 1-10, content is cut at ``MAX_CONTENT``.

    Raises:
        ValueError: the answer has no list of operations, or it has some and none is valid
            (the caller spends its one repair on that).
    """
    items = _items(value)
    known = known or {}
    out: list[ModelOperation] = []
    dropped = 0
    for raw in items:
        if not isinstance(raw, Mapping):
            dropped += 1
            continue
        op = str(raw.get("op") or raw.get("action") or "").strip().lower()
        target = str(raw.get("target") or raw.get("id") or "").strip()
        real = aliases.get(target, target if target in known else "")
        kind = str(raw.get("kind") or "").strip().lower()
        if not kind and real and real in known:
            kind = known[real][1].kind
        memory = raw.get("memory") if isinstance(raw.get("memory"), Mapping) else {}
        fields = dict(memory) if kind not in _TEXT_FIELD and memory else None
        text = raw.get("content") or _legacy_content(raw) or ("; ".join(
            v for k, v in memory.items() if isinstance(v, str) and v and k not in _MODEL_NEVER_WRITES) if fields else "")
        content = " ".join(str(text).split())[:MAX_CONTENT]
        problem = None
        if op not in _OPS:
            problem = f"unknown op {op!r}"
        elif op == "insert" and kind not in kinds:
            problem = f"kind {kind!r} is not one of {list(kinds)}"
        elif op != "insert" and not real:
            problem = f"target {target!r} is not a listed memory"
        elif op in ("insert", "update") and not content:
            problem = "no content"
        if problem:
            dropped += 1
            logger.warning("Dropping a reflection operation: %s.", problem)
            continue
        importance = _importance(raw.get("importance", memory.get("importance")))
        out.append(ModelOperation(op, kind, real, content, importance, fields))
    if dropped and not out:
        raise ValueError(f"none of the {dropped} operations is valid (op, kind, target as listed, content)")
    return out


def _stem(word: str) -> str:
    """A crude stem that maps word forms together ("live", "lives", "living" -> "liv")."""
    for suffix in ("'s", "ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _content_words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _SUBJECT and w not in _GENERIC}


def grounding(content: str, messages: Sequence[BaseMessage], *, kind: str) -> list[HumanMessage]:
    """The user's messages ``content`` is grounded in (best first); empty when it is not.

    Content counts as grounded when at least ``GROUNDED[kind]`` of its content words (stemmed,
    "user" and function words aside) occur in what the user wrote in ``messages``.

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage
        >>> msgs = [HumanMessage("Hi! Can you help me with Japanese?", id="h"), AIMessage("I am Sam, a Japanese translator.")]
        >>> grounding("User is Sam, a Japanese translator", msgs, kind="semantic")
        []
        >>> [m.id for m in grounding("User wants help with Japanese", msgs, kind="semantic")]
        ['h']
    """
    words = _content_words(content)
    humans = [m for m in messages if isinstance(m, HumanMessage)]
    if not words or not humans:
        return []
    said = set().union(*(_content_words(message_text(m)) for m in humans))
    if len(words & said) / len(words) < GROUNDED.get(kind, 0.6):
        return []
    overlap = [(len(words & _content_words(message_text(m))), i) for i, m in enumerate(humans)]
    return [humans[i] for n, i in sorted(overlap, key=lambda p: (-p[0], p[1])) if n > 0]


_CHANGE = re.compile(
    r"\b(?:not|no|never|no longer|any ?more|stop(?:ped)?|quit|left|moved?|now|actually|instead|chang(?:e|ed)|"
    r"forget|delete|remove|wrong|used to|former(?:ly)?|ex|sold|gave up|switched|new|isn't|aren't|"
    r"don't|doesn't|didn't|won't)\b", re.I)
"""Words with which a user retracts or replaces what they said before."""


_ONE_VALUE = frozenset(_stem(w) for w in ("live", "city", "work", "job", "employer", "partner", "married", "wife",
                                           "husband", "girlfriend", "boyfriend", "diet", "name", "called"))
"""Relations a user has one value of at a time: a new value replaces the old one ("likes" does not)."""


def _all_words(text: str) -> set[str]:
    """Stemmed words without the subject and function words (the generic verbs count here)."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _SUBJECT}


def _same_subject(old: str, new: str) -> bool:
    """Whether ``new`` is about what ``old`` was: a specific word in common, or the same one-value relation."""
    words = _all_words(new)
    return bool(_content_words(old) & words or _all_words(old) & words & _ONE_VALUE)


def retraction(memory: str, messages: Sequence[BaseMessage], *, replaced_by: Sequence[str] = ()) -> list[HumanMessage]:
    """The user's messages that justify closing or deleting the stored ``memory`` (empty: none do).

    A weak model may close or delete any memory it was shown; only the user can retract one.
    A message justifies it when it is about the memory (shares a word with it) and either names
    something specific of it (a word beyond the generic verbs: "cello", "Lisbon") while saying it
    changed ("not", "no longer", "stopped", "now", "instead" ...), or the same answer replaces
    it with a grounded memory of the same one-value relation (``replaced_by``: "User lives in
    Porto" for "User lives in Lisbon"; a new "likes" does not replace an old one).

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> said = [HumanMessage("Actually I live in Porto now, not Lisbon.", id="h")]
        >>> [m.id for m in retraction("User lives in Lisbon", said)]
        ['h']
        >>> retraction("User is vegetarian", [HumanMessage("What is my dog called?")])
        []
        >>> [m.id for m in retraction("User lives in Lisbon", [HumanMessage("I live in Porto.", id="p")],
        ...                            replaced_by=["User lives in Porto"])]
        ['p']
    """
    target, specific = _all_words(memory), _content_words(memory)
    replacing = set().union(*(_all_words(text) for text in replaced_by)) if replaced_by else set()
    out = []
    for m in messages:
        if not isinstance(m, HumanMessage):
            continue
        text = message_text(m)
        words = _all_words(text)
        if not words & target:
            continue
        if (words & specific and _CHANGE.search(text)) or (target & replacing & _ONE_VALUE and words & replacing):
            out.append(m)
    return out


def _when(message: BaseMessage, now: datetime) -> datetime:
    return message_time(message.additional_kwargs) or message_time(message.response_metadata) or now


def _user_sentence(content: str, message: BaseMessage) -> str:
    words = _content_words(content)
    best = max(sentences(message_text(message)) or [message_text(message)],
               key=lambda s: len(words & _content_words(s)))
    return best


def _kept_write(op: ModelOperation, new: Sequence[BaseMessage],
                known: Mapping[str, tuple[Any, MemoryBase]]) -> tuple[str, list[HumanMessage]] | None:
    """(kind, the user's messages it is grounded in) of an insert or update that is kept; None
    (logged) for one that is dropped."""
    kind = op.kind if op.op == "insert" else known[op.target][1].kind
    if op.op == "update" and not _same_subject(memory_text(known[op.target][1]), op.content):
        # rewriting a memory into one about something else erases it as surely as a delete
        logger.warning("Dropping reflection update of %r to %r: not about the same thing.",
                       memory_text(known[op.target][1]), op.content)
        return None
    sources = grounding(op.content, new, kind=kind)
    if not sources:
        logger.warning("Dropping reflection %s %r: not grounded in the user's own words.", op.op, op.content)
        return None
    return kind, sources


def to_operations(ops: Sequence[ModelOperation], new: Sequence[BaseMessage], *, known: Mapping[str, tuple[Any, MemoryBase]],
                  aliases: Mapping[str, str], now: datetime | None = None) -> list[dict[str, Any]]:
    """The internal operations (:func:`~langmem_ext.long_term.operations.plan_changes` format) for
    the model's ``ops`` over the ``new`` messages; ungrounded inserts and updates are dropped."""
    now = now or utcnow()
    kept: dict[int, tuple[str, list[HumanMessage]]] = {}
    for i, op in enumerate(ops):
        found = _kept_write(op, new, known) if op.op in ("insert", "update") else None
        if found is not None:
            kept[i] = found
    replacements = [ops[i].content for i in kept]  # only writes that will be applied justify a close
    out: list[dict[str, Any]] = []
    for i, op in enumerate(ops):
        if op.op in ("close", "delete"):
            stored = memory_text(known[op.target][1]) if op.target in known else ""
            if not retraction(stored, new, replaced_by=replacements):
                logger.warning("Dropping reflection %s of %r: the user's new messages neither retract nor replace it.",
                               op.op, stored)
                continue
            out.append({"action": op.op, "id": op.target, "reason": "reflection"})
            continue
        if i not in kept:
            continue
        kind, sources = kept[i]
        when = _when(sources[0], now)
        text = annotate_dates(op.content, when)
        field = _TEXT_FIELD.get(kind, "content")
        if op.op == "update":
            change: dict[str, Any] = {field: text, "importance": op.importance}
            if kind == "procedural":
                change["source"] = _user_sentence(op.content, sources[0])
            elif op.fields:
                change = {k: v for k, v in op.fields.items() if k not in _MODEL_NEVER_WRITES}
            out.append({"action": "update", "id": op.target, "kind": kind, "reason": "reflection", "memory": change})
            continue
        ids = [m.id for m in sources if m.id]
        memory: dict[str, Any] = {field: text, "importance": op.importance, "source_ids": ids}
        if kind == "semantic":
            memory |= {"subject": "user", "valid_from": when.isoformat(), "confidence": 0.8}
        elif kind == "episodic":
            speaker = (sources[0].name or "user").strip() or "user"
            memory |= {"occurred_at": when.isoformat(), "participants": [speaker, "assistant"]}
        elif kind == "procedural":
            memory = {"rule": text, "importance": op.importance, "scope": "general",
                      "source": _user_sentence(op.content, sources[0])}
        elif op.fields:  # a custom kind: its own fields, never the bookkeeping ones
            memory = {**{k: v for k, v in op.fields.items() if k not in _MODEL_NEVER_WRITES},
                      "importance": op.importance}
            if "source_ids" in _fields_of(kind):
                memory["source_ids"] = ids
        out.append({"action": "insert", "kind": kind, "reason": "reflection", "memory": memory})
    return out
