"""Human-readable tables of a LoCoMo eval result (plain Markdown, or rich if installed)."""

from __future__ import annotations

from typing import Any

from langmem_ext.long_term.eval.locomo import CATEGORIES

__all__ = ["format_locomo_report", "print_locomo_report"]


def _rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    ks = [str(k) for k in result.get("k") or result["recall"].keys()]
    headers = ["category", "n"] + [f"R@{k}" for k in ks]
    rows = []
    for cat, row in result["by_category"].items():
        rows.append([f"{cat} {CATEGORIES.get(cat, '')}".strip(), str(row["n"])]
                    + [f"{100 * row[k]:.1f}" for k in ks])
    rows.append(["all", str(result["n_questions"])] + [f"{100 * result['recall'][k]:.1f}" for k in ks])
    return headers, rows


def format_locomo_report(result: dict[str, Any]) -> str:
    """A Markdown table of recall@k (in %) per category and overall.

    Example:
        >>> print(format_locomo_report({"k": [5], "n_questions": 2, "mode": "hybrid",
        ...     "units": "turns", "recall": {"5": 0.75},
        ...     "by_category": {"2": {"5": 0.5, "n": 1}, "4": {"5": 1.0, "n": 1}}}))
        LoCoMo evidence recall, units=turns, mode=hybrid
        <BLANKLINE>
        | category | n | R@5 |
        |---|---|---|
        | 2 temporal | 1 | 50.0 |
        | 4 single-hop | 1 | 100.0 |
        | all | 2 | 75.0 |
    """
    headers, rows = _rows(result)
    title = f"LoCoMo evidence recall, units={result.get('units', '?')}, mode={result.get('mode', '?')}"
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return title + "\n\n" + "\n".join(lines)


def print_locomo_report(result: dict[str, Any], *, console: Any = None) -> None:
    """Print the table with ``rich`` when available (or given a ``console``), else as Markdown."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is an optional extra
        print(format_locomo_report(result))
        return
    headers, rows = _rows(result)
    table = Table(title=f"LoCoMo evidence recall (%), units={result.get('units')}, mode={result.get('mode')}")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*r, style="bold" if r[0] == "all" else None)
    (console or Console()).print(table)
