"""Write one benchmark's section into docs/benchmarks.md, leaving the others alone.

Each script owns the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->``.
"""

from __future__ import annotations

import os
import platform
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import redis

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent scripts may then clobber each other
    fcntl = None  # type: ignore[assignment]

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


def load_note(before: float, after: float, *, cores: int | None = None) -> str:
    """What the machine's 1-minute load average was around a run, and what that means for its figures.

    >>> load_note(0.4, 0.9, cores=2)
    'Load average 0.4 before and 0.9 after the run on 2 cores: an otherwise idle machine.'
    >>> load_note(3.2, 5.0, cores=2).endswith("treat every figure as an upper bound.")
    True
    """
    cores = cores or os.cpu_count() or 1
    said = f"Load average {before:.1f} before and {after:.1f} after the run on {cores} cores"
    if max(before, after) <= cores / 2 + 0.5:
        return said + ": an otherwise idle machine."
    return said + ": the machine was shared with other work, so treat every figure as an upper bound."


def write_section(name: str, markdown: str, *, doc: Path = DOC) -> None:
    """Replace (or append) the section ``name`` of ``docs/benchmarks.md``.

    Safe when several benchmark scripts finish at once: the read-modify-write runs
    under an exclusive ``fcntl.flock`` on the sidecar ``<doc>.lock`` (kept, never
    deleted: removing a lock file races with its next user), and the new text is
    written to a unique temporary file in the same folder, flushed to disk and
    moved over ``doc`` with ``os.replace``, so a reader sees the old or the new
    file, never half of one.
    """
    doc.parent.mkdir(parents=True, exist_ok=True)
    block = f"<!-- BEGIN {name} -->\n{markdown.rstrip()}\n<!-- END {name} -->"
    pattern = re.compile(
        rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S
    )
    with open(doc.with_name(doc.name + ".lock"), "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        text = doc.read_text() if doc.exists() else HEADER
        text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
        fd, tmp = tempfile.mkstemp(dir=doc.parent, prefix=f".{doc.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, doc)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


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


def interleaved(
    fns: dict[str, Callable[[int], object]], *, rounds: int, warmup: int = 0, seed: int = 7
) -> dict[str, dict[str, float]]:
    """p50/p95/p99 (ms) per name; each round calls every fn once, with the round number.

    Every round runs the contenders in a fresh random order (seeded): noise from other
    processes hits all alike, and no contender always follows the same other one (on this
    VM a call right after another's CPU-heavy work pays to wake the idle server's vCPU).
    """
    names = list(fns)
    samples: dict[str, list[float]] = {n: [] for n in names}
    rng = random.Random(seed)
    for r in range(warmup + rounds):
        order = names[:]
        rng.shuffle(order)
        for name in order:
            t0 = time.perf_counter()
            fns[name](r)
            if r >= warmup:
                samples[name].append((time.perf_counter() - t0) * 1000)
    return {n: percentiles(s) for n, s in samples.items()}
