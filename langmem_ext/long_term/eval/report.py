"""Human-readable tables of a LoCoMo eval result (plain Markdown, or rich if installed)."""

from __future__ import annotations

from typing import Any

from langmem_ext.long_term.eval.locomo import CATEGORIES

__all__ = ["format_locomo_report", "print_locomo_report", "reflection_lines"]


def _rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    ks = [str(k) for k in result.get("k") or result["recall"].keys()]
    headers = ["category", "n"] + [f"R@{k}" for k in ks]
    rows = []
    for cat, row in result["by_category"].items():
        rows.append([f"{cat} {CATEGORIES.get(cat, '')}".strip(), str(row["n"])]
                    + [f"{100 * row[k]:.1f}" for k in ks])
    rows.append(["all", str(result["n_questions"])] + [f"{100 * result['recall'][k]:.1f}" for k in ks])
    return headers, rows


def _title(result: dict[str, Any]) -> str:
    """What was measured: units, mode, extra keys and the reflection extractor."""
    title = f"units={result.get('units', '?')}, mode={result.get('mode', '?')}"
    if result.get("facts") == "dataset":
        title += ", facts=dataset (LoCoMo's GPT-written observations: an upper reference, not a product figure)"
    if result.get("extractor"):
        title += f", extractor={result['extractor']}"
    return title


def reflection_lines(result: dict[str, Any]) -> list[str]:
    """What reflection did, one line each ([] unless ``units="reflection"``).

    Example:
        >>> reflection_lines({"reflection": {"extractor": "offline", "sessions": 2, "turns": 8,
        ...     "written": {"semantic": 2, "episodic": 6}, "written_per_turn": {"semantic": 0.25, "episodic": 0.75},
        ...     "closed": 0, "skipped_exchanges": 1, "llm_calls": 0,
        ...     "session_seconds": {"mean": 0.01, "p50": 0.01, "max": 0.02, "total": 0.02}}})[:2]
        ['reflection: offline, 2 sessions, 8 turns, 0 LLM calls', 'memories written per turn: episodic 0.75, semantic 0.25']
    """
    stats = result.get("reflection")
    if not stats:
        return []
    per_turn = ", ".join(f"{k} {v:g}" for k, v in sorted(stats["written_per_turn"].items()) if v)
    secs = stats["session_seconds"]
    return [
        f"reflection: {stats['extractor']}, {stats['sessions']} sessions, {stats['turns']} turns, "
        f"{stats['llm_calls']} LLM calls",
        f"memories written per turn: {per_turn or 'none'}",
        f"facts closed: {stats['closed']}; exchanges skipped (no new information): {stats['skipped_exchanges']}",
        f"reflection time per session: mean {secs['mean']:.3f} s, p50 {secs['p50']:.3f} s, max {secs['max']:.3f} s "
        f"(total {secs['total']:.1f} s)",
    ]


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
    title = f"LoCoMo evidence recall, {_title(result)}"
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    extra = reflection_lines(result)
    return title + "\n\n" + "\n".join(lines) + ("\n\n" + "\n".join(extra) if extra else "")


def print_locomo_report(result: dict[str, Any], *, console: Any = None) -> None:
    """Print the table with ``rich`` when available (or given a ``console``), else as Markdown."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is an optional extra
        print(format_locomo_report(result))
        return
    headers, rows = _rows(result)
    table = Table(title=f"LoCoMo evidence recall (%), {_title(result)}")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*r, style="bold" if r[0] == "all" else None)
    out = console or Console()
    out.print(table)
    for line in reflection_lines(result):
        out.print(line)
