"""Superseded facts: current fact recalled first, stale one closed (not deleted), nothing else closed.

    .venv/bin/python benchmarks/supersession.py [--cases 200] [--seed 0]

Plays the seeded cases of ``langmem_ext.long_term.eval.supersession`` through ReflectionNode
(offline extractor, and a scripted model that closes what a careful model would) into a
RedisStore with offline MiniLM vectors, asks each case's current-value question through
RecallNode (its default, hybrid) in a new thread, and writes the ``supersession`` section
of docs/recall.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import machine_line, table, write_section  # noqa: E402
from langmem_ext.connection import connect  # noqa: E402
from langmem_ext.embeddings import MINILM_DIMS, MiniLMEmbeddings  # noqa: E402
from langmem_ext.long_term.eval.runner import CachedEmbeddings  # noqa: E402
from langmem_ext.long_term.eval.supersession import ATTRIBUTES, generate_cases, play_case, summarize_results  # noqa: E402
from langmem_ext.server import EmbeddedRedis  # noqa: E402
from langmem_ext.store import RedisStore  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=ROOT / ".venv" / "supersession-minilm-cache.pkl")
    args = parser.parse_args()
    cases = generate_cases(args.cases, seed=args.seed)
    server = EmbeddedRedis()
    server.start()
    out: dict[str, Any] = {}
    try:
        cache = CachedEmbeddings(MiniLMEmbeddings(), path=args.cache)
        client = connect(server.url)
        store = RedisStore(client, index={"dims": MINILM_DIMS, "embed": cache, "fields": ["content"]},
                           key_prefix="bench-supersession")
        store.setup()
        for extractor in ("offline", "scripted"):
            store.delete_namespace_prefix(("supersession",))
            started = time.perf_counter()
            results = [play_case(c, store, extractor=extractor) for c in cases]
            out[extractor] = (summarize_results(results), time.perf_counter() - started, results)
            cache.save()
            print(extractor, {k: v for k, v in out[extractor][0].items() if k != "by_attribute"}, flush=True)
        client.close()
    finally:
        server.stop()
    rows = []
    for extractor, (summary, seconds, _) in out.items():
        rows.append([extractor, "all", summary["cases"], pct(summary["current_first"]),
                     pct(summary["closed_not_deleted"]), summary["cases_with_unrelated_closed"], f"{seconds:.0f} s"])
        for attribute in ATTRIBUTES:
            part = summary["by_attribute"].get(attribute)
            if part:
                rows.append([extractor, attribute, part["cases"], pct(part["current_first"]),
                             pct(part["closed_not_deleted"]), part["cases_with_unrelated_closed"], ""])
    failures = [r for _, (_, _, results) in out.items() for r in results
                if not (r.current_first and r.closed_not_deleted) or r.unrelated_closed]
    text = "\n".join([
        "## Superseded facts",
        "",
        f"{args.cases} seeded cases (seed {args.seed}; `langmem_ext.long_term.eval.supersession`): a user states a "
        "fact (city, job, partner, diet, pet's name), talks about other things (their own other facts, and the "
        "same kind of fact about someone else), and 1-400 days later states a new value; three threads, one "
        "reflection each, then a new thread asks the current-value question through `RecallNode` (hybrid). "
        "Targets: current fact above every stale memory (the closed fact and the episode it came from) >= 95 %; "
        "stale fact closed (valid_to set, a `close` record in its history), not deleted, >= 95 %; no unrelated "
        "fact closed in any case. RedisStore + offline MiniLM. " + machine_line() + " The machine is shared "
        "with other engineers' test runs: times are indicative.",
        "",
        table(["reflection", "attribute", "cases", "current fact first", "stale fact closed, kept",
               "cases with an unrelated fact closed", "time"], rows),
        "",
        "Published anchors (MemoryAgentBench, single-hop conflict resolution, not run here): Mem0 18 %, "
        "Zep 7 %, a deterministic newest-fact-wins step 78-95 %.",
        "",
        f"Failing cases: {len(failures)}" + ("" if not failures else ": " + "; ".join(
            f"{r.case_id} ({r.attribute})" for r in failures[:10])),
        "",
        "Reproduce: `.venv/bin/python benchmarks/supersession.py`; a 20-case subset runs in `make test` "
        "(`tests/long_term/eval/test_supersession.py`).",
    ])
    write_section("supersession", text, doc=ROOT / "docs" / "recall.md")
    write_section("supersession", text)
    print(text)


if __name__ == "__main__":
    main()
