"""Offline memory extraction: a heuristic extractor used when no model is configured.

This is NOT an LLM. It reads the user's own sentences with first-person
patterns and returns the same operations a reflection model would:

* semantic — facts ("I live in Lisbon", "my dog is called Bruno", "I work at
  Acme"), preferences ("I love jazz") and commitments ("I'll call mum
  tomorrow", with relative dates resolved). A fact about a single-valued
  attribute (where one lives, works, one's name, "my X is Y") that differs
  from a stored open fact closes the old one and inserts the new one;
  exact duplicates are skipped.
* procedural — the user's feedback: sentences starting "don't / never /
  always / stop / from now on / please answer|reply|use|…". A rule that
  rewrites a stored rule on the same subject updates it (new version).
  Only human messages are read, so tool output can never become a rule.
* episodic — one record per exchange (the user's message, the assistant's
  reply, and the user's next reaction when it is praise or a correction).

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> ops = extract_operations([HumanMessage("I live in Lisbon. Please answer in French."),
    ...                           AIMessage("D'accord.")], existing=[], kinds=["semantic", "procedural"])
    >>> [(op["kind"], op["memory"].get("content") or op["memory"].get("rule")) for op in ops]
    [('semantic', 'User lives in Lisbon'), ('procedural', 'Please answer in French')]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langmem_ext.long_term.dates import annotate_dates, message_time
from langmem_ext.long_term.offline_facts import attribute_keys, attribute_of, sentence_facts, sentence_rules
from langmem_ext.long_term.schemas import MemoryBase, utcnow
from langmem_ext.messages import message_text, split_sentences

__all__ = ["OFFLINE_REASON", "extract_operations"]

OFFLINE_REASON = "offline heuristic extractor (no model configured)"
_PRAISE = re.compile(r"^(?:thanks|thank you|great|perfect|awesome|nice|that helped|exactly)\b", re.I)
_CORRECTION = re.compile(r"^(?:no\b|wrong\b|that's (?:wrong|not)|that is (?:wrong|not)|not what|incorrect)", re.I)
_STOP = {"the", "a", "an", "to", "in", "of", "and", "or", "my", "me", "i", "you", "your", "please", "don't", "do",
         "not", "never", "always", "stop", "from", "now", "on", "be", "is", "are", "with", "for", "future", "next", "time"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in _STOP}


def _same_topic(a: str, b: str) -> bool:
    """Two rules about the same thing: mostly the same words, or the same verb with one
    other word each ("answer in French" replaces "answer in English")."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    if len(wa & wb) / len(wa | wb) >= 0.5:
        return True
    la = [w for w in re.findall(r"[a-z0-9']+", a.lower()) if w not in _STOP]
    lb = [w for w in re.findall(r"[a-z0-9']+", b.lower()) if w not in _STOP]
    return len(la) == len(lb) == 2 and la[0] == lb[0]


def _speaker(message: BaseMessage) -> str:
    return (getattr(message, "name", None) or "User").strip() or "User"


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", " ", a.lower()).strip() == re.sub(r"\W+", " ", b.lower()).strip()


def extract_operations(
    messages: Sequence[BaseMessage],
    *,
    existing: Sequence[MemoryBase],
    kinds: Sequence[str] = ("semantic", "episodic", "procedural"),
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Heuristic memory operations for new ``messages`` (see module docstring).

    Args:
        messages: The messages not yet reflected on.
        existing: Related stored memories (for duplicates and contradictions).
        kinds: Which kinds to produce.
        now: Fallback time for messages without a timestamp.

    Returns:
        Operations in the :func:`~langmem_ext.long_term.operations.reflection_schema` format.
    """
    now = now or utcnow()
    ops: list[dict[str, Any]] = []
    open_facts = [m for m in existing if m.kind == "semantic" and getattr(m, "valid_to", None) is None]
    rules = [m for m in existing if m.kind == "procedural" and m.status == "active"]
    closed: set[str] = set()
    updated: set[str] = set()
    new_contents: list[str] = []
    for i, message in enumerate(messages):
        if not isinstance(message, HumanMessage):
            continue
        when = message_time(message.additional_kwargs) or message_time(message.response_metadata) or now
        text = message_text(message)
        subject = _speaker(message)
        source = [message.id] if message.id else []
        for sentence in split_sentences(text):
            if "semantic" in kinds:
                for content, attr in sentence_facts(sentence, subject):
                    content = annotate_dates(content, when)
                    if any(_same(content, f.content) for f in open_facts if f.id not in closed) or any(
                        _same(content, c) for c in new_contents
                    ):
                        continue
                    if attr is not None:
                        for fact in open_facts:
                            if fact.id not in closed and attribute_of(fact.content, subject) == attr:
                                ops.append({"action": "close", "id": fact.id, "reason": f"superseded: {content}"})
                                closed.add(fact.id)
                    new_contents.append(content)
                    ops.append({"action": "insert", "kind": "semantic", "reason": OFFLINE_REASON, "memory": {
                        "subject": subject, "content": content, "confidence": 0.6, "source_ids": source,
                        "valid_from": when.isoformat(), "importance": 6 if attr else 5, "keys": attribute_keys(attr)}})
            for rule in sentence_rules(sentence) if "procedural" in kinds else []:
                if any(_same(rule, r.rule) for r in rules):  # type: ignore[attr-defined]
                    continue
                similar = next((r for r in rules if r.id not in updated and _same_topic(rule, r.rule)), None)  # type: ignore[attr-defined]
                memory = {"rule": rule, "source": sentence, "scope": "general", "importance": 7}
                if similar is not None:
                    updated.add(similar.id)
                    ops.append({"action": "update", "kind": "procedural", "id": similar.id, "memory": {**memory, "scope": similar.scope},  # type: ignore[attr-defined]
                                "reason": f"user feedback: {sentence}"})
                else:
                    ops.append({"action": "insert", "kind": "procedural", "memory": memory, "reason": OFFLINE_REASON})
        if "episodic" in kinds and len(text.split()) >= 3:
            after = messages[i + 1:]
            reply_at = next((j for j, m in enumerate(after) if isinstance(m, AIMessage) and message_text(m).strip()), None)
            later_at = next((j for j, m in enumerate(after) if isinstance(m, HumanMessage)), None)
            reply = after[reply_at] if reply_at is not None else None
            # a reaction is feedback on the assistant's reply only when one came first: in a
            # conversation between two people the next person's turn is not an outcome
            later = after[later_at] if later_at is not None and reply_at is not None and reply_at < later_at else None
            outcome = ""
            if later is not None:
                reaction = message_text(later).strip()
                if _PRAISE.match(reaction):
                    outcome = f"{_speaker(later)} was satisfied: {reaction[:200]}"
                elif _CORRECTION.match(reaction):
                    outcome = f"{_speaker(later)} corrected it: {reaction[:200]}"
            ops.append({"action": "insert", "kind": "episodic", "reason": OFFLINE_REASON, "memory": {
                "situation": f"{subject}: {annotate_dates(text, when)[:500]}",
                "action": f"Assistant replied: {message_text(reply)[:300]}" if reply is not None else "",
                "outcome": outcome, "occurred_at": when.isoformat(), "participants": [subject, "assistant"],
                "source_ids": source, "importance": 3}})
    return ops
