from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks._report import interleaved, write_section

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import sys, time
from pathlib import Path
from benchmarks._report import write_section
doc, who, n, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
while not go.exists():
    time.sleep(0.001)
for i in range(n):
    write_section(f"{who}{i}", f"{who} table {i}", doc=doc)
"""


def test_write_section_replaces_only_its_own_section(tmp_path):
    doc = tmp_path / "benchmarks.md"
    write_section("a", "first", doc=doc)
    write_section("b", "second", doc=doc)
    write_section("a", "again", doc=doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks") and "again" in text and "first" not in text and "second" in text
    assert text.index("BEGIN a") < text.index("BEGIN b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["benchmarks.md", "benchmarks.md.lock"]  # no temp left


def test_two_processes_writing_different_sections_lose_nothing(tmp_path):
    doc, go, n = tmp_path / "benchmarks.md", tmp_path / "go", 60
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(doc), who, str(n), str(go)], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for who in ("x", "y")]
    go.touch()  # both start together
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    text = doc.read_text()
    for who in ("x", "y"):
        for i in range(n):
            assert f"<!-- BEGIN {who}{i} -->\n{who} table {i}\n<!-- END {who}{i} -->" in text
    assert text.count("<!-- BEGIN") == 2 * n and text.count("# Benchmarks") == 1


def test_interleaved_calls_each_contender_once_per_round_in_varying_order() -> None:
    calls: list[tuple[str, int]] = []
    fns = {n: (lambda r, n=n: calls.append((n, r))) for n in "abc"}
    stats = interleaved(fns, rounds=30, warmup=2)
    assert set(stats) == {"a", "b", "c"} and all(s["p50"] >= 0 for s in stats.values())
    rounds = [[n for n, r in calls if r == i] for i in range(32)]
    assert all(sorted(order) == ["a", "b", "c"] for order in rounds)  # each once per round
    assert len({tuple(order) for order in rounds}) > 3  # shuffled, not one fixed or rotated order
    followers = {order[order.index("a") + 1] for order in rounds if order[-1] != "a"}
    assert followers == {"b", "c"}  # "a" is not always followed by the same contender
    calls.clear()
    interleaved(fns, rounds=30, warmup=2)
    assert [[n for n, r in calls if r == i] for i in range(32)] == rounds  # seeded: repeatable
