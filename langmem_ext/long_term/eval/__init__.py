"""Recall quality evaluation: LoCoMo through the product's write and recall path.

``run_locomo_eval(path, k=..., mode=..., units=...)`` loads a LoCoMo file, writes each
conversation as memories with ``put_memories`` into a ``RedisStore`` (offline MiniLM
embeddings), asks every question with :func:`~langmem_ext.long_term.retrieval.recall` (the
recipe lives there, not here), and returns evidence recall@k overall
and per category; ``print_locomo_report`` shows it as a table.
"""

from __future__ import annotations

from langmem_ext.long_term.eval.locomo import (
    CATEGORIES,
    LocomoConversation,
    LocomoQuestion,
    LocomoTurn,
    Observation,
    evidence_ids,
    load_locomo,
    parse_session_date,
)
from langmem_ext.long_term.eval.metrics import aggregate_recall, evidence_recall
from langmem_ext.long_term.eval.report import format_locomo_report, print_locomo_report
from langmem_ext.long_term.eval.runner import DEFAULT_KS, CachedEmbeddings, run_locomo_eval
from langmem_ext.long_term.eval.units import (
    Units,
    memory_turn_ids,
    observation_memories,
    summary_memories,
    turn_memories,
    units_for,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_KS",
    "CachedEmbeddings",
    "LocomoConversation",
    "LocomoQuestion",
    "LocomoTurn",
    "Observation",
    "Units",
    "aggregate_recall",
    "evidence_ids",
    "evidence_recall",
    "format_locomo_report",
    "load_locomo",
    "memory_turn_ids",
    "observation_memories",
    "parse_session_date",
    "print_locomo_report",
    "run_locomo_eval",
    "summary_memories",
    "turn_memories",
    "units_for",
]
