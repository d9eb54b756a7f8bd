"""LoCoMo records as the product's memories (the schemas of :mod:`langmem_ext.long_term`).

Three kinds of unit, each written through :func:`langmem_ext.long_term.put_memories`:

* ``turns``: one ``EpisodicMemory`` per dialogue turn: the speaker and the text, relative dates resolved against the session date
  (``annotate_dates``), the shared photo's caption, the session date in the content, and
  (``with_facts=True``) the facts extracted from that very turn as extra index keys
  (``EpisodicMemory.facts``, LongMemEval's "fact-augmented keys").
  LoCoMo dates sessions only; turns are spaced ``turn_spacing`` apart from the session
  start so that their order survives as ``occurred_at`` (used for neighbour propagation).
* ``observations``: one ``SemanticMemory`` per extracted fact, ``source_ids`` = its turns.
* ``summaries``: one ``SemanticMemory`` per session summary, ``source_ids`` = every turn
  of the session.

Retrieved memories map back to turn ids through ``source_ids`` (:func:`memory_turn_ids`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any, Literal

from langmem_ext.long_term.dates import annotate_dates
from langmem_ext.long_term.eval.locomo import LocomoConversation, LocomoTurn
from langmem_ext.long_term.schemas import EpisodicMemory, MemoryBase, SemanticMemory

__all__ = [
    "Units",
    "memory_turn_ids",
    "observation_memories",
    "summary_memories",
    "turn_memories",
    "turn_situation",
    "units_for",
]

Units = Literal["turns", "observations", "summaries", "reflection"]
"""What an eval writes; ``"reflection"`` is played through ReflectionNode (:mod:`.reflect`), not built here."""


def turn_situation(turn: LocomoTurn, *, resolve_dates: bool = True, captions: bool = True) -> str:
    """``"Speaker: text [shares a photo: caption]"``, relative dates resolved.

    >>> from datetime import datetime, timezone
    >>> t = LocomoTurn("D1:3", 1, "Caroline", "I went to a group yesterday.",
    ...                datetime(2023, 5, 8, tzinfo=timezone.utc), caption="a photo of a flag")
    >>> turn_situation(t)
    'Caroline: I went to a group yesterday (2023-05-07). [shares a photo: a photo of a flag]'
    """
    text = annotate_dates(turn.text, turn.date) if resolve_dates else turn.text
    out = f"{turn.speaker}: {text}"
    if captions and turn.caption:
        out += f" [shares a photo: {turn.caption}]"
    return out


def _memory_id(sample_id: str, unit: str, n: int | str) -> str:
    return f"{sample_id}:{unit}:{n}"


def turn_memories(
    conv: LocomoConversation,
    *,
    with_facts: bool = True,
    turn_spacing: timedelta = timedelta(minutes=1),
) -> list[MemoryBase]:
    """One episode per turn (see the module docstring)."""
    facts: dict[str, list[str]] = defaultdict(list)
    if with_facts:
        for obs in conv.observations:
            for dia_id in obs.dia_ids:
                facts[dia_id].append(obs.text)
    out: list[MemoryBase] = []
    position: dict[int, int] = defaultdict(int)
    for turn in conv.turns:
        i = position[turn.session]
        position[turn.session] += 1
        out.append(
            EpisodicMemory(
                id=_memory_id(conv.sample_id, "turn", turn.dia_id),
                situation=turn_situation(turn),
                occurred_at=turn.date + i * turn_spacing,
                participants=[turn.speaker],
                source_ids=[turn.dia_id],
                facts=facts.get(turn.dia_id, []),
            )
        )
    return out


def observation_memories(conv: LocomoConversation) -> list[MemoryBase]:
    """One semantic memory per extracted fact (valid from its session date)."""
    return [
        SemanticMemory(
            id=_memory_id(conv.sample_id, "obs", n),
            subject=obs.speaker,
            content=obs.text,
            source_ids=list(obs.dia_ids),
            valid_from=obs.date,
        )
        for n, obs in enumerate(conv.observations)
        if obs.text.strip()
    ]


def summary_memories(conv: LocomoConversation) -> list[MemoryBase]:
    """One semantic memory per session summary, citing every turn of the session."""
    return [
        SemanticMemory(
            id=_memory_id(conv.sample_id, "summary", n),
            subject="conversation",
            content=text,
            source_ids=conv.session_turn_ids(n),
            valid_from=conv.session_dates[n],
        )
        for n, text in sorted(conv.summaries.items())
        if text.strip()
    ]


def units_for(conv: LocomoConversation, units: Units, *, with_facts: bool = True) -> list[MemoryBase]:
    """The memories of one conversation for a unit kind.

    Raises:
        ValueError: Unknown ``units``.
    """
    if units == "turns":
        return turn_memories(conv, with_facts=with_facts)
    if units == "observations":
        return observation_memories(conv)
    if units == "summaries":
        return summary_memories(conv)
    if units == "reflection":
        raise ValueError("units='reflection' are written by ReflectionNode: use eval.reflect.reflect_conversation")
    raise ValueError(f"units must be 'turns', 'observations' or 'summaries', got {units!r}")


def memory_turn_ids(value: dict[str, Any]) -> list[str]:
    """The turn ids a stored memory value stands for (its ``source_ids``)."""
    ids = value.get("source_ids") or []
    return [str(i) for i in ids]
