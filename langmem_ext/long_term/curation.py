"""What a reflection keeps of its operations, and the facts it copies onto episodes.

Pure functions, no I/O: :func:`curate_changes` turns the operations of one
reflection (from the model or the offline extractor) into the
:class:`~langmem_ext.long_term.operations.Changes` that
:func:`~langmem_ext.long_term.writer.apply_changes` writes in one go:

* a procedural insert or update is dropped unless its ``source`` is found in what
  the user wrote in the new messages (never tool output or recalled memories);
* an insert over ``limits.memory_bytes`` is dropped with a WARNING, the rest kept;
* an insert that near-duplicates an open stored memory, or another insert, is dropped;
* an episode of an exchange that carries no new information is dropped
  (:func:`uninformative_exchanges`: the user only asked or exchanged pleasantries, and
  the reply said nothing that memory did not already hold, or that it found nothing);
* the semantic facts inserted are copied onto the ``facts`` of the episodes inserted
  from the same conversation span (:func:`attach_facts`), so the episode is found
  by a question phrased like one of its facts.

Example:
    >>> from langmem_ext.long_term.schemas import EpisodicMemory, SemanticMemory
    >>> fact = SemanticMemory(content="User lives in Lisbon", source_ids=["m1"])
    >>> other = SemanticMemory(content="User likes jazz", source_ids=["m3"])
    >>> episode = EpisodicMemory(situation="User: I live in Lisbon now.", source_ids=["m1"])
    >>> ns = ("memories", "u1", "episodic")
    >>> [(_, ep)] = [p for p in attach_facts([(ns, fact), (ns, other), (ns, episode)], span={"m1", "m2", "m3"})
    ...              if p[1].kind == "episodic"]
    >>> ep.facts, ep.content
    (['User lives in Lisbon'], 'User: I live in Lisbon now. Facts: User lives in Lisbon')
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from langmem_ext.limits import LimitExceededError, Limits
from langmem_ext.long_term.operations import Changes, plan_changes
from langmem_ext.long_term.schemas import MemoryBase, memory_text
from langmem_ext.long_term.writer import check_memory_size
from langmem_ext.messages import CONTENT_WORD

__all__ = ["MAX_EPISODE_FACTS", "attach_facts", "curate_changes", "states_nothing", "uninformative_exchanges"]

logger = logging.getLogger(__name__)

MAX_EPISODE_FACTS = 8
"""Facts a reflection copies onto one episode at most (its own ``facts`` count too)."""

Insert = tuple[tuple[str, ...], MemoryBase]


def same_words(a: str, b: str) -> bool:
    """Near-duplicate texts: word sets overlapping by 80 % or more (Jaccard)."""
    wa, wb = set(re.findall(r"[a-z0-9']+", a.lower())), set(re.findall(r"[a-z0-9']+", b.lower()))
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= 0.8


def grounded(source: str, human_text: str) -> bool:
    """Whether most content words of ``source`` occur in what the user wrote."""
    words = {w.lower() for w in CONTENT_WORD.findall(source)}
    if not words:
        return False
    present = {w.lower() for w in CONTENT_WORD.findall(human_text)}
    return len(words & present) / len(words) >= 0.6


_PLEASANTRY = re.compile(
    r"^(?:(?:hi|hello|hey|thanks|thank you|bye|goodbye|good (?:morning|night|evening|afternoon)|see you|"
    r"talk (?:to you )?(?:soon|later)|ok|okay|cool|great|perfect|nice|that is all|that's all|bye for now|"
    r"have a (?:good|nice) (?:day|evening|night|one))\b[\s,!.]*)+(?:for (?:now|today)|there|again|a lot|so much|"
    r"for today|that is all for today|that's all for today)?[\s,!.]*$", re.I)
_QUESTION = re.compile(r"\?\s*$|^(?:what|where|who|when|which|how|why|do|does|did|is|are|can|could|should|would|will)\b",
                       re.I)
_NOTHING = re.compile(r"\b(?:found nothing|nothing (?:in|from) (?:my )?memory|no (?:memories|memory|information) "
                      r"(?:about|of|on)|i (?:don't|do not) (?:know|remember))\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_FILLER_WORDS = frozenset(
    "memory memories from noted recall related you your yours you're the and are was were for with that this "
    "these those about have has had not but can could would should will there here they them their what which "
    "who when where how why does did all any some also just very now".split())


def states_nothing(text: str) -> bool:
    """Whether a user message only asks or exchanges pleasantries (no statement in it).

    >>> states_nothing("Where do I go hiking on weekends?"), states_nothing("Thanks, that is all for today.")
    (True, True)
    >>> states_nothing("Hi! I moved to Porto. Where is a good cafe?")
    False
    """
    parts = [p.strip() for p in _SENTENCE.split(text) if p.strip()]
    return bool(parts) and all(_QUESTION.search(p) or _PLEASANTRY.match(p) for p in parts)


def uninformative_exchanges(messages: Sequence[Any], *, known_text: str = "") -> set[str]:
    """Keys of the user messages (and their replies) whose exchange carries no new information.

    The user's message :func:`states_nothing`, and the assistant's reply before the user's
    next message (if any) either says it found nothing or uses no content word that is not
    already in the question or in ``known_text`` (what the user said in these messages and
    the stored memories the reflection saw): a recall echoed back is not news. A reply with content of its own (a recipe, an answer
    from the model's knowledge) keeps the exchange.

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage
        >>> msgs = [HumanMessage("What is my dog called?", id="1"), AIMessage("From memory: User has a dog called Pixel.", id="2"),
        ...         HumanMessage("Any dinner idea?", id="3"), AIMessage("Try a mushroom risotto with thyme.", id="4")]
        >>> sorted(uninformative_exchanges(msgs, known_text="User has a dog called Pixel"))
        ['1', '2']
    """
    from langchain_core.messages import AIMessage, HumanMessage

    from langmem_ext.messages import message_key, message_text

    known = {w.lower() for w in CONTENT_WORD.findall(known_text)} | _FILLER_WORDS
    out: set[str] = set()
    for i, message in enumerate(messages):
        if not isinstance(message, HumanMessage) or not states_nothing(message_text(message)):
            continue
        reply = None
        for later in messages[i + 1:]:
            if isinstance(later, HumanMessage):
                break
            if isinstance(later, AIMessage) and message_text(later).strip():
                reply = later
                break
        if reply is not None:
            said = message_text(reply)
            asked = {w.lower() for w in CONTENT_WORD.findall(message_text(message))}
            news = {w.lower() for w in CONTENT_WORD.findall(said)} - known - asked
            if news and not _NOTHING.search(said):
                continue
            out.add(message_key(reply))
        out.add(message_key(message))
    return out


def _span(memory: MemoryBase, span: Collection[str]) -> set[str]:
    """The messages of ``span`` a memory came from; all of them when it names none of them."""
    own = set(getattr(memory, "source_ids", None) or []) & set(span)
    return own or set(span)


def attach_facts(
    inserts: Sequence[Insert],
    *,
    span: Collection[str],
    max_facts: int = MAX_EPISODE_FACTS,
    limits: Limits | None = None,
) -> list[Insert]:
    """Copy the semantic facts among ``inserts`` onto the episodes among them that share a source.

    A memory's sources are its ``source_ids`` that are keys of ``span`` (the messages of
    this reflection); one that names none of them (a model that left ``source_ids``
    empty) counts as coming from the whole span. An episode gets every fact whose
    sources overlap its own, in order, after the facts it already has: de-duplicated
    (near-identical wording counts as the same), at most ``max_facts`` in all, and only
    while the episode's text stays within ``limits.memory_bytes``.

    Returns:
        ``inserts`` with the episodes replaced by enriched copies (inputs are not mutated).
    """
    if max_facts < 0:
        raise ValueError(f"max_facts must be >= 0, got {max_facts}.")
    facts = [(memory_text(m), _span(m, span)) for _, m in inserts if m.kind == "semantic"]
    if not facts or not max_facts:
        return list(inserts)
    out: list[Insert] = []
    for ns, memory in inserts:
        if memory.kind != "episodic" or not isinstance(getattr(memory, "facts", None), list):
            out.append((ns, memory))
            continue
        mine = _span(memory, span)
        merged: list[str] = list(memory.facts)  # type: ignore[attr-defined]
        for text, sources in facts:
            if len(merged) >= max_facts:
                break
            if not sources & mine or any(same_words(text, f) for f in merged):
                continue
            candidate = memory.model_copy(update={"facts": [*merged, text]})
            try:
                check_memory_size(candidate, limits=limits)
            except LimitExceededError:
                break
            merged.append(text)
        changed = len(merged) != len(memory.facts)  # type: ignore[attr-defined]
        out.append((ns, memory.model_copy(update={"facts": merged}) if changed else memory))
    return out


def curate_changes(
    operations: Sequence[Any],
    *,
    human_text: str,
    span: Collection[str],
    known: Mapping[str, tuple[Any, MemoryBase]],
    namespaces: Mapping[str, tuple[str, ...]],
    kinds: Sequence[str],
    limits: Limits | None = None,
    max_episode_facts: int = MAX_EPISODE_FACTS,
    skip: Collection[str] = (),
) -> Changes:
    """The changes one reflection writes (see the module docstring for what is dropped).

    Args:
        operations: Operations from the model (pydantic objects) or the offline extractor (dicts).
        human_text: What the user wrote in the new messages (procedural grounding).
        span: Keys of the new messages (see :func:`attach_facts`).
        known: Related stored memories by id, with their namespace.
        namespaces: Namespace per kind.
        kinds: Kinds the reflection maintains; procedural only when ``human_text`` is set.
        limits: Size limits (``memory_bytes``).
        max_episode_facts: Facts copied onto one episode at most (0: none).
        skip: Keys of messages whose exchange carries no new information
            (:func:`uninformative_exchanges`): an episode drawn only from them is dropped.
    """
    allowed = [k for k in kinds if k != "procedural" or human_text]
    kept = []
    for raw in operations:
        op = raw.model_dump() if hasattr(raw, "model_dump") else dict(raw)
        is_procedural = op.get("kind") == "procedural" or (
            op.get("id") in known and known[op["id"]][1].kind == "procedural"
        )
        if is_procedural and op.get("action") in ("insert", "update"):
            source = (op.get("memory") or {}).get("source", "")
            if not grounded(source, human_text):
                logger.warning("Dropping procedural %s not grounded in the user's own words: %r", op.get("action"), source)
                continue
        kept.append(op)
    changes = plan_changes(kept, known=known, namespaces=namespaces, allowed_kinds=allowed)
    closing = {key for _, key, _ in changes.updates} | {key for _, key in changes.deletes}
    unique: list[Insert] = []
    for ns, memory in changes.inserts:
        text = memory_text(memory)
        sources = set(getattr(memory, "source_ids", None) or [])
        if memory.kind == "episodic" and skip and sources and sources <= set(skip):
            logger.info("Skipping episode %r: the exchange carries no new information.", text[:80])
            continue
        try:
            check_memory_size(memory, limits=limits)
        except LimitExceededError as exc:  # the model's output: keep the rest of the reflection
            logger.warning("Dropping an insert from the model: %s", exc)
            continue
        twin = next((m for key, (_, m) in known.items() if key not in closing and m.kind == memory.kind
                     and getattr(m, "valid_to", None) is None and same_words(text, memory_text(m))), None)
        if twin is not None:
            logger.info("Dropping insert %r: near-duplicate of memory %s.", text, twin.id)
            continue
        if any(same_words(text, memory_text(m)) for _, m in unique):
            continue
        unique.append((ns, memory))
    changes.inserts = attach_facts(unique, span=span, max_facts=max_episode_facts, limits=limits)
    return changes
