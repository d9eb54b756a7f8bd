"""Read the LoCoMo benchmark file into plain records (no I/O beyond reading the JSON).

LoCoMo (Maharana et al., ACL 2024) is CC BY-NC 4.0: read it from where the user keeps it,
never ship it. A file is a list of samples; each has a two-person ``conversation`` split into
dated sessions of turns (``dia_id`` like ``"D3:12"``), ``qa`` items with evidence turn ids and
a category, LLM-written ``observation`` facts with their source turn, and a
``session_summary`` per session.

Example:
    >>> evidence_ids(["D8:6; D9:17", "D:11:26", "D30:05", "D"])
    ['D8:6', 'D9:17', 'D11:26', 'D30:5']
    >>> parse_session_date("1:56 pm on 8 May, 2023").isoformat()
    '2023-05-08T13:56:00+00:00'
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "CATEGORIES",
    "LocomoConversation",
    "LocomoQuestion",
    "LocomoTurn",
    "Observation",
    "evidence_ids",
    "load_locomo",
    "parse_session_date",
]

CATEGORIES: dict[str, str] = {
    "1": "multi-hop",
    "2": "temporal",
    "3": "open-domain",
    "4": "single-hop",
    "5": "adversarial",
}
"""Category ids of the official evaluation code and their names."""

_ID = re.compile(r"D:?(\d+):0*(\d+)")


def evidence_ids(raw: Iterable[str] | str) -> list[str]:
    """Normalised turn ids: split on ``;``, drop stray ``:`` and leading zeros, skip junk.

    Keeps first-seen order and drops duplicates.
    """
    items = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        for part in str(item).split(";"):
            m = _ID.fullmatch(part.strip().replace(" ", ""))
            if m:
                norm = f"D{int(m.group(1))}:{int(m.group(2))}"
                if norm not in out:
                    out.append(norm)
    return out


def parse_session_date(text: str) -> datetime:
    """Parse LoCoMo's ``"1:56 pm on 8 May, 2023"`` as a UTC datetime.

    Raises:
        ValueError: The text is not in that format.
    """
    try:
        return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(
            f"session date {text!r} is not like '1:56 pm on 8 May, 2023' (LoCoMo's format)"
        ) from None


@dataclass(frozen=True)
class LocomoTurn:
    """One dialogue turn."""

    dia_id: str
    session: int
    speaker: str
    text: str
    date: datetime
    caption: str | None = None


@dataclass(frozen=True)
class Observation:
    """An LLM-written fact about a speaker, with the turns it was drawn from."""

    text: str
    speaker: str
    session: int
    dia_ids: tuple[str, ...]
    date: datetime


@dataclass(frozen=True)
class LocomoQuestion:
    """A question with its evidence turn ids (normalised) and category id ("1".."5")."""

    question: str
    evidence: tuple[str, ...]
    category: str
    answer: str | None = None


@dataclass
class LocomoConversation:
    """One LoCoMo sample, parsed."""

    sample_id: str
    speakers: tuple[str, str]
    turns: list[LocomoTurn]
    questions: list[LocomoQuestion]
    observations: list[Observation] = field(default_factory=list)
    summaries: dict[int, str] = field(default_factory=dict)
    session_dates: dict[int, datetime] = field(default_factory=dict)

    def session_turn_ids(self, session: int) -> list[str]:
        """The dia_ids of one session, in order."""
        return [t.dia_id for t in self.turns if t.session == session]


def _parse_sample(raw: dict[str, Any]) -> LocomoConversation:
    conv = raw["conversation"]
    sample_id = str(raw.get("sample_id", "?"))
    dates: dict[int, datetime] = {}
    turns: list[LocomoTurn] = []
    sessions = sorted(
        int(m.group(1)) for k in conv if (m := re.fullmatch(r"session_(\d+)", k))
    )
    for n in sessions:
        date = parse_session_date(conv[f"session_{n}_date_time"])
        dates[n] = date
        for t in conv[f"session_{n}"]:
            ids = evidence_ids([t["dia_id"]])
            if not ids:
                raise ValueError(f"{sample_id}: turn id {t['dia_id']!r} is not like 'D1:3'")
            turns.append(
                LocomoTurn(
                    dia_id=ids[0],
                    session=n,
                    speaker=str(t["speaker"]),
                    text=str(t.get("text", "")),
                    date=date,
                    caption=t.get("blip_caption") or None,
                )
            )
    questions = []
    for q in raw.get("qa", []):
        answer = q.get("answer", q.get("adversarial_answer"))
        questions.append(
            LocomoQuestion(
                question=str(q["question"]),
                evidence=tuple(evidence_ids(q.get("evidence", []))),
                category=str(q["category"]),
                answer=None if answer is None else str(answer),
            )
        )
    observations = []
    for key, per_speaker in (raw.get("observation") or {}).items():
        m = re.fullmatch(r"session_(\d+)_observation", key)
        if not m or int(m.group(1)) not in dates:
            continue
        n = int(m.group(1))
        for speaker, facts in per_speaker.items():
            for fact in facts:
                text, ids = fact[0], evidence_ids(fact[1])
                observations.append(Observation(str(text), speaker, n, tuple(ids), dates[n]))
    summaries = {}
    for key, text in (raw.get("session_summary") or {}).items():
        m = re.fullmatch(r"session_(\d+)_summary", key)
        if m and int(m.group(1)) in dates:
            summaries[int(m.group(1))] = str(text)
    return LocomoConversation(
        sample_id=sample_id,
        speakers=(str(conv.get("speaker_a", "")), str(conv.get("speaker_b", ""))),
        turns=turns,
        questions=questions,
        observations=observations,
        summaries=summaries,
        session_dates=dates,
    )


def load_locomo(
    path: str | os.PathLike[str],
    *,
    samples: Iterable[str] | None = None,
    max_sessions: int | None = None,
    max_questions: int | None = None,
) -> list[LocomoConversation]:
    """Load a LoCoMo JSON file (the original format, e.g. ``locomo10.json``).

    Args:
        path: The file.
        samples: Keep only these ``sample_id``s.
        max_sessions: Keep only each conversation's first N sessions (and the questions,
            observations and summaries that refer to them only).
        max_questions: Keep at most N questions per conversation (after the session cut).

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file is not LoCoMo's format (the message says what is missing).
    """
    with open(path, encoding="utf-8") as fh:
        try:
            raw = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON ({exc}); expected LoCoMo's locomo10.json format") from None
    if not isinstance(raw, list) or not all(isinstance(s, dict) and "conversation" in s for s in raw):
        raise ValueError(
            f"{path}: expected a list of samples with 'conversation' and 'qa' (LoCoMo's locomo10.json format)"
        )
    wanted = set(samples) if samples is not None else None
    out = []
    for sample in raw:
        if wanted is not None and str(sample.get("sample_id")) not in wanted:
            continue
        conv = _parse_sample(sample)
        if max_sessions is not None:
            keep = sorted(conv.session_dates)[:max_sessions]
            conv = _cut(conv, set(keep))
        if max_questions is not None:
            conv.questions = conv.questions[:max_questions]
        out.append(conv)
    if wanted is not None and len(out) < len(wanted):
        missing = wanted - {c.sample_id for c in out}
        raise ValueError(f"{path}: no sample(s) {sorted(missing)}")
    return out


def _cut(conv: LocomoConversation, sessions: set[int]) -> LocomoConversation:
    turns = [t for t in conv.turns if t.session in sessions]
    ids = {t.dia_id for t in turns}
    return LocomoConversation(
        sample_id=conv.sample_id,
        speakers=conv.speakers,
        turns=turns,
        questions=[q for q in conv.questions if q.evidence and set(q.evidence) <= ids],
        observations=[o for o in conv.observations if o.session in sessions],
        summaries={n: s for n, s in conv.summaries.items() if n in sessions},
        session_dates={n: d for n, d in conv.session_dates.items() if n in sessions},
    )
