"""LoCoMo evidence recall through the product path (put_memories -> RedisStore -> recall).

    .venv/bin/python benchmarks/recall_locomo.py [--locomo FILE] [--cache FILE] [--quick]

Writes docs/recall.md (per-category tables for every unit kind and mode, and the lever
ablation) and the ``recall`` section of docs/benchmarks.md. The dataset (CC BY-NC) is read
from where it lies and never copied; vectors are cached in ``--cache`` between runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import machine_line, table, write_section  # noqa: E402
from langmem_ext.connection import connect  # noqa: E402
from langmem_ext.embeddings import MINILM_DIMS, MiniLMEmbeddings  # noqa: E402
from langmem_ext.long_term.eval import CATEGORIES, aggregate_recall, load_locomo, run_locomo_eval  # noqa: E402
from langmem_ext.long_term.eval.runner import CachedEmbeddings  # noqa: E402
from langmem_ext.long_term.eval.units import memory_turn_ids, units_for  # noqa: E402
from langmem_ext.long_term.writer import put_memories  # noqa: E402
from langmem_ext.server import EmbeddedRedis  # noqa: E402
from langmem_ext.store import RedisStore  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCOMO = ROOT.parent / "shared" / "data" / "locomo" / "locomo-dev.json"
DOC = ROOT / "docs" / "recall.md"
KS = (5, 10, 25, 50)
MODES = ("vector", "text", "hybrid", "hybrid+time")
UNITS = ("turns", "observations", "summaries")
MODE_NAMES = {"vector": "vector only (MiniLM)", "text": "BM25 only (RediSearch)",
              "hybrid": "hybrid (z-fusion + neighbours)", "hybrid+time": "hybrid + time-aware"}


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def category_table(result: dict[str, Any]) -> str:
    rows = [[f"{c} {CATEGORIES.get(c, '')}", r["n"], *(pct(r[str(k)]) for k in KS)]
            for c, r in result["by_category"].items()]
    rows.append(["**all**", result["n_questions"], *(f"**{pct(result['recall'][str(k)])}**" for k in KS)])
    return table(["category", "questions", *(f"R@{k}" for k in KS)], rows)


def store_rrf(store: RedisStore, convs: list, ks: tuple[int, ...]) -> dict[str, Any]:
    """The store's own hybrid ranking (reciprocal rank fusion, k=60), no recall recipe."""
    rows = []
    for conv in convs:
        ns = ("locomo", conv.sample_id, "turns")
        store.delete_namespace_prefix(ns)
        put_memories(store, ns, units_for(conv, "turns"))
        for q in conv.questions:
            hits = store.search(ns, query=q.question, limit=max(ks), mode="hybrid")
            rows.append((q.category, [memory_turn_ids(h.value) for h in hits], q.evidence))
    return aggregate_recall(rows, ks=ks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locomo", type=Path, default=DEFAULT_LOCOMO)
    parser.add_argument("--cache", type=Path, default=ROOT / ".venv" / "locomo-minilm-cache.pkl")
    parser.add_argument("--quick", action="store_true", help="one conversation only (a smoke run)")
    parser.add_argument("--results", type=Path, default=ROOT / ".venv" / "recall_locomo.json",
                        help="where the raw results are kept (reused with --from-results)")
    parser.add_argument("--from-results", action="store_true", help="only rewrite the docs from --results")
    args = parser.parse_args()
    if args.from_results:
        saved = json.loads(args.results.read_text())
        write_docs(saved, args.quick)
        return
    if not args.locomo.exists():
        sys.exit(f"{args.locomo} not found: pass --locomo with your copy of LoCoMo (locomo10.json format).")
    samples = ["conv-26"] if args.quick else None
    convs = load_locomo(args.locomo, samples=samples)
    server = EmbeddedRedis()
    server.start()
    started = time.perf_counter()
    try:
        cache = CachedEmbeddings(MiniLMEmbeddings(), path=args.cache)
        client = connect(server.url)
        store = RedisStore(client, index={"dims": MINILM_DIMS, "embed": cache, "fields": ["content"]},
                           prefix="bench-recall")
        store.setup()

        def run(**kw: Any) -> dict[str, Any]:
            out = run_locomo_eval(args.locomo, k=KS, store=store, samples=samples, **kw)
            cache.save()
            print(f"{kw}: " + " ".join(pct(v) for v in out["recall"].values()), flush=True)
            return out

        results = {(u, m): run(units=u, mode=m) for u in UNITS for m in MODES}
        ablation = [
            ("BM25 only, no extracted facts in the keys", run(units="turns", mode="text", with_facts=False),
             "store `mode=\"text\"`"),
            ("vector only, no extracted facts in the keys", run(units="turns", mode="vector", with_facts=False),
             "store `mode=\"vector\"`"),
            ("store hybrid (RRF k=60), facts in keys", store_rrf(store, convs, KS),
             "store `mode=\"hybrid\"` (`rrf_k`)"),
            ("z-score fusion, no neighbours, no facts",
             run(units="turns", mode="hybrid", with_facts=False, recall_options={"neighbor_weight": 0.0}),
             "`recall(vector_weight=)`"),
            ("+ neighbours (no facts)", run(units="turns", mode="hybrid", with_facts=False),
             "`recall(neighbor_weight=, neighbor_window=)`"),
            ("z-score fusion + facts, no neighbours",
             run(units="turns", mode="hybrid", recall_options={"neighbor_weight": 0.0}),
             "`EpisodicMemory.facts`"),
            ("+ neighbours = **hybrid**", results[("turns", "hybrid")], "`recall(mode=\"hybrid\")`"),
            ("+ time-aware query handling = **hybrid+time**", results[("turns", "hybrid+time")],
             "`recall(mode=\"hybrid+time\", time_weight=)`"),
        ]
        client.close()
    finally:
        server.stop()
    saved = {
        "elapsed": time.perf_counter() - started,
        "n_conversations": len(convs),
        "results": {f"{u}|{m}": r for (u, m), r in results.items()},
        "ablation": [[name, r, feat] for name, r, feat in ablation],
        "machine": machine_line(),
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(saved))
    write_docs(saved, args.quick)


USAGE = """## Use it

The recall recipe is a product function over any LangGraph store
(`langmem_ext.long_term.recall`; BM25 needs `RedisStore`, and the hybrid modes use the
vector list alone on other stores). `RecallNode(mode="hybrid")` ranks its relevance component
with the same recipe; its default is still `"vector"`, because in the offline demo conversation
hybrid lost one of four cross-thread recalls (the store's BM25 ranked chat episodes poorly), and
in a live chat every episode lies within the neighbour window of every other, so propagation
lifts episodes over facts. Memories are written with the product's writer:

```python
import os
from datetime import datetime, timedelta, timezone

from langmem_ext.connection import connect
from langmem_ext.embeddings import MINILM_DIMS, MiniLMEmbeddings
from langmem_ext.long_term import EpisodicMemory, put_memories, recall
from langmem_ext.store import RedisStore

store = RedisStore(connect(os.environ["REDIS_URL"]), key_prefix="docs-recall",
                   index={"dims": MINILM_DIMS, "embed": MiniLMEmbeddings(), "fields": ["content"]})
store.setup()
t0 = datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)
said = ["Ana: I adopted a greyhound named Comet.", "Ben: What a lovely name!",
        "Ana: My sister is getting married in Lisbon in June."]
put_memories(store, ("memories", "ana", "episodic"), [
    EpisodicMemory(situation=s, occurred_at=t0 + timedelta(minutes=i)) for i, s in enumerate(said)])
hits = recall(store, ("memories", "ana"), "Whose wedding is coming up?", limit=2, mode="hybrid")
assert "Lisbon" in hits[0].value["content"]
store.delete_namespace_prefix(("memories", "ana"))
```

Reproduce the tables: `.venv/bin/python benchmarks/recall_locomo.py --locomo PATH/locomo10.json`,
or from the command line `langmem-ext eval locomo FILE --mode hybrid --units turns`.
"""


def write_docs(saved: dict[str, Any], quick: bool) -> None:
    """docs/recall.md and the ``recall`` section of docs/benchmarks.md from saved results."""
    results = {tuple(key.split("|")): r for key, r in saved["results"].items()}
    ablation = saved["ablation"]
    elapsed = saved["elapsed"]
    n_q = results[("turns", "hybrid")]["n_questions"]
    scope = ("conversation conv-26 only (--quick)" if quick
             else f"the development split ({saved['n_conversations']} conversations)")

    parts = [
        "# Recall quality on LoCoMo",
        "",
        "<!-- Written by benchmarks/recall_locomo.py; do not edit by hand. -->",
        "",
        f"Evidence recall@k (the paper's Table 3 metric) on {scope}, {n_q} questions with evidence, "
        "measured through the product path: each conversation is written with `put_memories` "
        "into a `RedisStore` (RediSearch 2.10 BM25 + HNSW, offline MiniLM-L6-v2 vectors) and every "
        "question is asked with `langmem_ext.long_term.recall`. No LLM anywhere. "
        + saved["machine"] + f" Whole run: {elapsed:.0f} s.",
        "",
        "How units are counted: k counts retrieved memories. A turn covers its own dia_id; an "
        "observation covers the turn(s) it cites; a session summary covers every turn of its "
        "session (so summaries@k can reach far more turns than turns@k).",
        "",
        "Anchors (published, all 10 conversations, DRAGON retriever): turns R@5/10/25/50 = "
        "56.7/66.2/76.7/82.7; observations 56.2/61.3/67.5/71.2; BM25 over turns about "
        "51.9/58.8/66.8/71.7. Ours are on the 5-conversation development split only.",
        "",
        "## Overall",
        "",
        table(["units", "mode", *(f"R@{k}" for k in KS)],
              [[u, MODE_NAMES[m], *(pct(results[(u, m)]["recall"][str(k)]) for k in KS)]
               for u in UNITS for m in MODES]),
        "",
        "## Levers (turn units) and the product feature behind each",
        "",
        table(["configuration", *(f"R@{k}" for k in KS), "product feature"],
              [[name, *(pct(r["recall"][str(k)]) for k in KS), feat] for name, r, feat in ablation]),
        "",
        "- **What a memory holds** (`units.turn_memories`): speaker, the text with relative dates "
        "resolved against the message time (`long_term.dates.annotate_dates`), the shared image's "
        "caption, and the date in the content (`EpisodicMemory.content`).",
        "- **Extracted facts as index keys** (`EpisodicMemory.facts`): the facts reflection drew from a "
        "message are added to that message's searchable text. LoCoMo's `observation` facts stand "
        "in for what our reflection writes (same shape: fact + source turn). Next step: reflection "
        "writes its semantic facts with their source message ids but does not yet copy them onto "
        "the source episodes' `facts`; until it does, fill `facts` when writing episodes.",
        "- **Fusion** (`recall`, `vector_weight`): each list (BM25, vector) is z-scored over its "
        "candidates, then mixed; better here than the store's rank fusion.",
        "- **Neighbours** (`recall`, `neighbor_weight`, `neighbor_window`): a memory gains part of "
        "the score of memories that occurred within two minutes of it in the same namespace (two turns either side). LoCoMo "
        "dates sessions only, so turns are spaced one minute apart from the session start.",
        "- **Time-aware** (`recall(mode=\"hybrid+time\")`): *when* questions favour memories that "
        "state a date; a named month/year favours memories from then.",
        "",
        "**Caveats.** (1) The goal (R@5 >= 65, R@10 >= 75) is reached only with extracted facts in "
        "the keys; without them the best recipe gives the `+ neighbours (no facts)` row. Those facts "
        "are LoCoMo's LLM-written observations: in production they come from reflection (an LLM "
        "call per conversation), so a deployment without reflection should expect that row. "
        "(2) Tuned on this development split only (fusion weight 0.5, neighbour weight 0.2, two-turn "
        "window, chosen among a handful of coarse settings); the held-out conversations were never "
        "looked at. (3) Runs differ by up to ~1 point in BM25-based rows: RediSearch keeps deleted "
        "documents in its term statistics until its garbage collector runs, and every run rewrites "
        "the namespaces.",
        "",
        USAGE,
    ]
    for u in UNITS:
        parts += [f"## Per category: {u}", ""]
        for m in MODES:
            parts += [f"### {u}, {MODE_NAMES[m]}", "", category_table(results[(u, m)]), ""]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(parts))

    best = results[("turns", "hybrid")]
    summary = [
        "## Recall quality (LoCoMo, no LLM)",
        "",
        f"Turn-level evidence recall on {scope}, through put_memories -> RedisStore -> recall; "
        "full tables in [recall.md](recall.md). " + saved["machine"],
        "",
        table(["retrieval", *(f"R@{k}" for k in KS)], [
            *([MODE_NAMES[m], *(pct(results[("turns", m)]["recall"][str(k)]) for k in KS)] for m in MODES),
            ["published DRAGON (10 conv.)", "56.7", "66.2", "76.7", "82.7"],
            ["published BM25 (10 conv.)", "51.9", "58.8", "66.8", "71.7"],
        ]),
        "",
        f"Target R@5 >= 65 / R@10 >= 75: R@5 {pct(best['recall']['5'])}, R@10 {pct(best['recall']['10'])}.",
    ]
    write_section("recall", "\n".join(summary))
    print("\n".join(summary))


if __name__ == "__main__":
    main()
