"""LoCoMo's official evidence recall, as pure functions.

Per question: the share of its evidence ids found among the first ``k`` retrieved units;
then averaged over questions (overall and per category). Questions without evidence are
left out (they cannot be scored). A unit is one turn id, or several when a memory stands for
many turns (an observation citing two turns, a session summary citing all of its session):
``k`` counts units, and a unit covers every turn it cites.

Example:
    >>> evidence_recall(["D1:3", "D1:4", "D2:1"], ["D1:4", "D5:5"], k=2)
    0.5
    >>> evidence_recall(["D1:3", "D1:4", "D2:1"], ["D1:4", "D5:5"], k=1)
    0.0
    >>> evidence_recall([["D1:3", "D1:4"], ["D5:5"]], ["D1:4", "D5:5"], k=1)
    0.5
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["aggregate_recall", "dedupe_ids", "evidence_recall"]


def dedupe_ids(ids: Iterable[str]) -> list[str]:
    """Ids in first-seen order without repeats (units that map to several turns expand here).

    >>> dedupe_ids(["D1:1", "D1:2", "D1:1", "D1:3"])
    ['D1:1', 'D1:2', 'D1:3']
    """
    seen: set[str] = set()
    out = []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


Unit = str | Sequence[str]


def evidence_recall(retrieved: Sequence[Unit], evidence: Iterable[str], *, k: int) -> float:
    """Share of ``evidence`` ids covered by the first ``k`` retrieved units.

    Raises:
        ValueError: ``k`` < 1 or no evidence.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    wanted = set(evidence)
    if not wanted:
        raise ValueError("a question without evidence ids cannot be scored; leave it out")
    top: set[str] = set()
    for unit in retrieved[:k]:
        top.update([unit] if isinstance(unit, str) else unit)
    return len(wanted & top) / len(wanted)


def aggregate_recall(
    results: Iterable[tuple[str, Sequence[Unit], Sequence[str]]],
    *,
    ks: Sequence[int],
) -> dict:
    """Average recall@k over questions, overall and per category.

    Args:
        results: ``(category, retrieved_units, evidence_ids)`` per question, units in
            rank order (a turn id, or the list of turn ids a memory cites).
        ks: Cut-offs.

    Returns:
        ``{"n_questions": n, "recall": {"5": r, ...}, "by_category": {"1": {"5": r, ...,
        "n": n1}, ...}}``, recalls as fractions in [0, 1].

    Example:
        >>> out = aggregate_recall([("1", ["a", "b"], ["a"]), ("2", ["b", "a"], ["a"])], ks=[1, 2])
        >>> out["recall"], out["by_category"]["2"]
        ({'1': 0.5, '2': 1.0}, {'1': 0.0, '2': 1.0, 'n': 1})
    """
    sums: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, int] = defaultdict(int)
    total: dict[int, float] = defaultdict(float)
    n = 0
    for category, retrieved, evidence in results:
        if not evidence:
            continue
        n += 1
        counts[category] += 1
        for k in ks:
            r = evidence_recall(retrieved, evidence, k=k)
            total[k] += r
            sums[category][k] += r
    by_category: dict[str, Mapping[str, float | int]] = {}
    for cat in sorted(counts, key=lambda c: (len(c), c)):
        row: dict[str, float | int] = {str(k): sums[cat][k] / counts[cat] for k in ks}
        row["n"] = counts[cat]
        by_category[cat] = row
    return {
        "n_questions": n,
        "recall": {str(k): (total[k] / n if n else 0.0) for k in ks},
        "by_category": by_category,
    }
