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
from langmem_ext.long_term.schemas import MemoryBase, utcnow
from langmem_ext.messages import message_text, split_sentences

__all__ = ["OFFLINE_REASON", "extract_operations"]

OFFLINE_REASON = "offline heuristic extractor (no model configured)"
_OBJ = r"(.{2,80}?)"
_END = r"(?:[,;.!?]|\s+(?:and|but|because|since|so)\s|$)"

# (pattern, template, single-valued attribute key or None)
_FACTS: list[tuple[re.Pattern[str], str, str | None]] = [
    (re.compile(rf"\bi(?:'ve| have)? (?:just |recently )?moved to {_OBJ}{_END}", re.I), "{s} lives in {0}", "lives in"),
    (re.compile(rf"\bi(?: currently)? (?:live|am living|'m living) in {_OBJ}{_END}", re.I), "{s} lives in {0}", "lives in"),
    (re.compile(rf"\bi (?:currently )?work (?:at|for) {_OBJ}{_END}", re.I), "{s} works at {0}", "works at"),
    (re.compile(rf"\bi work as (?:a |an )?{_OBJ}{_END}", re.I), "{s} works as {0}", "works as"),
    (re.compile(rf"\b(?:i am|i'm) from {_OBJ}{_END}", re.I), "{s} is from {0}", "is from"),
    (re.compile(rf"\b(?:call me|my name is|i am called|i'm called) {_OBJ}{_END}", re.I), "{s} is named {0}", "is named"),
    (re.compile(rf"\bmy ((?:\w+ ){{0,2}}\w+) (?:is|are) (?:called |named )?{_OBJ}{_END}", re.I), "{s}'s {0} is {1}", "'s {0} is"),
    (re.compile(rf"\b(?:i am|i'm) allergic to {_OBJ}{_END}", re.I), "{s} is allergic to {0}", None),
    (re.compile(rf"\bi (?:really |absolutely )?(love|like|enjoy|prefer|hate|dislike|can't stand) {_OBJ}(?:[,;.!?]|\s+(?:but|because|since|so)\s|$)", re.I), "{s} {0}s {1}", None),
    (re.compile(rf"\bi(?: have|'ve got| have got) (a|an|two|three|\d+) {_OBJ}{_END}", re.I), "{s} has {0} {1}", None),
    (re.compile(rf"\bi(?:'ll| will| am going to|'m going to| plan to| intend to| promised to) {_OBJ}(?:[.!?]|$)", re.I), "{s} plans to {0}", None),
]
_RULE = re.compile(
    r"^(?:(?:ok|okay|and|also|no|actually)[, ]+)*"
    r"((?:please )?(?:don't|do not|never|always|stop|from now on|in (?:the )?future|next time)\b.*"
    r"|please (?:answer|reply|respond|write|use|keep|be|call|speak|talk|avoid|include|add)\b.*)",
    re.I,
)
_PRAISE = re.compile(r"^(?:thanks|thank you|great|perfect|awesome|nice|that helped|exactly)\b", re.I)
_CORRECTION = re.compile(r"^(?:no\b|wrong\b|that's (?:wrong|not)|that is (?:wrong|not)|not what|incorrect)", re.I)
_STOP = {"the", "a", "an", "to", "in", "of", "and", "or", "my", "me", "i", "you", "your", "please", "don't", "do",
         "not", "never", "always", "stop", "from", "now", "on", "be", "is", "are", "with", "for", "future", "next", "time"}


def _clean(obj: str) -> str:
    return obj.strip().strip("\"'").rstrip(",;:")


def _facts(sentence: str, subject: str) -> list[tuple[str, str | None]]:
    out = []
    for pattern, template, key in _FACTS:
        for m in pattern.finditer(sentence):
            groups = [_clean(g) for g in m.groups()]
            if any(not g for g in groups) or (key and key.startswith("'s") and groups[0].lower() == "name"):
                continue
            if template.startswith("{s} {0}s"):
                verb = {"can't stand": "hate", "dislike": "dislike"}.get(groups[0].lower(), groups[0].lower())
                verb = verb[:-1] if verb.endswith("e") and verb not in ("like", "love", "hate", "dislike") else verb
                content = f"{subject} {verb}s {groups[1]}"
            else:
                content = template.format(*groups, s=subject)
            attr = key.format(*[g.lower() for g in groups]) if key else None
            out.append((content, attr))
    return out


def _attr_of(content: str, subject: str) -> tuple[str | None, str]:
    """(single-valued attribute key, value) of a stored fact written by this module."""
    rest = content[len(subject):] if content.startswith(subject) else content
    for key in ("lives in", "works at", "works as", "is from", "is named"):
        if rest.startswith(f" {key} "):
            return key, rest[len(key) + 2:]
    m = re.match(r"^'s ((?:\w+ ){0,2}\w+) is (.+)$", rest)
    if m:
        return f"'s {m.group(1).lower()} is", m.group(2)
    return None, rest


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
                for content, attr in _facts(sentence, subject):
                    content = annotate_dates(content, when)
                    if any(_same(content, f.content) for f in open_facts if f.id not in closed) or any(
                        _same(content, c) for c in new_contents
                    ):
                        continue
                    if attr is not None:
                        for fact in open_facts:
                            if fact.id not in closed and _attr_of(fact.content, subject)[0] == attr:
                                ops.append({"action": "close", "id": fact.id, "reason": f"superseded: {content}"})
                                closed.add(fact.id)
                    new_contents.append(content)
                    ops.append({"action": "insert", "kind": "semantic", "reason": OFFLINE_REASON, "memory": {
                        "subject": subject, "content": content, "confidence": 0.6, "source_ids": source,
                        "valid_from": when.isoformat(), "importance": 6 if attr else 5}})
            if "procedural" in kinds and (rule_match := _RULE.match(sentence)):
                rule = rule_match.group(1).rstrip(".!")
                rule = rule[0].upper() + rule[1:]
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
            reply = next((m for m in messages[i + 1:] if isinstance(m, AIMessage) and message_text(m).strip()), None)
            later = next((m for m in messages[i + 1:] if isinstance(m, HumanMessage)), None)
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
