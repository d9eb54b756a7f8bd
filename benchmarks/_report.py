"""Write one benchmark's section into docs/benchmarks.md, leaving the others alone.

Each script owns the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->``.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import redis

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Every table below is written by a script under `benchmarks/` (run them all with "
    "`make bench`). Each comparison is measured in one run, on the same Redis server, on the "
    "machine described in its section. Figures are medians unless named otherwise.\n"
)


def machine_line(redis_url: str | None = None) -> str:
    """One line that says where the numbers come from."""
    parts = [f"{os.cpu_count()} cores", f"Python {platform.python_version()}"]
    if redis_url:
        client = redis.Redis.from_url(redis_url)
        parts.append(f"Redis {client.info('server')['redis_version']}")
        client.close()
    parts.append(time.strftime("%Y-%m-%d"))
    return "Measured on " + ", ".join(parts) + "."


def write_section(name: str, markdown: str, *, doc: Path = DOC) -> None:
    """Replace (or append) the section ``name`` of ``docs/benchmarks.md``."""
    doc.parent.mkdir(parents=True, exist_ok=True)
    text = doc.read_text() if doc.exists() else HEADER
    block = f"<!-- BEGIN {name} -->\n{markdown.rstrip()}\n<!-- END {name} -->"
    pattern = re.compile(
        rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S
    )
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(doc)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def timeit(fn: Callable[[], object], *, repeat: int = 200, warmup: int = 10) -> dict[str, float]:
    """p50/p95/p99 of ``fn`` in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return percentiles(samples)


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50 (the median), p95 and p99 of ``samples`` (nearest rank below)."""
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[int(0.95 * (len(ordered) - 1))],
        "p99": ordered[int(0.99 * (len(ordered) - 1))],
    }
