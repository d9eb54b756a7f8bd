"""How much of a question's evidence reaches the model under a 2,000-token budget (LoCoMo dev).

Each conversation of ``../shared/data/locomo/locomo-dev.json`` is replayed as a chat
(first speaker = user, second = assistant; the session date opens each session's first
turn; shared photos appear as their caption). Each question is then asked as the next
user message, and the model input is built by:

* last-N trimming (``trim_history``: the most recent turns that fit);
* the importance filter (``build_context``, offline heuristic scores, last 2 turns kept);
* the same with relevance to the question: lexical, and MiniLM embeddings (if installed).

Reported: the share of each question's evidence turns present in the model input
(LoCoMo's evidence recall), averaged per category. Nothing is tuned here beyond defaults.

Run: ``.venv/bin/python benchmarks/context_budget.py [--no-embeddings]``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage  # noqa: E402

from benchmarks._report import machine_line, table, write_section  # noqa: E402
from langmem_ext.short_term import HeuristicScorer, MessageTokenCounter, build_context, trim_history  # noqa: E402
from langmem_ext.messages import message_key  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "locomo" / "locomo-dev.json"
DOC = ROOT / "docs" / "context_budget.md"
BUDGET = 2000
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
SYSTEM = SystemMessage("You are a helpful assistant with a long conversation history.", id="system")


def normalise_evidence(ids: list[str]) -> set[str]:
    """'D8:6; D9:17' -> {'D8:6', 'D9:17'}; 'D:11:26' -> 'D11:26'; 'D30:05' -> 'D30:5'."""
    out = set()
    for raw in ids:
        for piece in raw.split(";"):
            m = re.match(r"\s*D:?(\d+):0*(\d+)", piece)
            if m:
                out.add(f"D{int(m.group(1))}:{int(m.group(2))}")
    return out


def replay(sample: dict[str, Any]) -> list[BaseMessage]:
    """The conversation as chat messages, ids = dia_ids."""
    conv = sample["conversation"]
    first = conv["speaker_a"]
    sessions = sorted((int(k.split("_")[1]) for k in conv if re.fullmatch(r"session_\d+", k)))
    messages: list[BaseMessage] = [SYSTEM]
    for s in sessions:
        date = conv.get(f"session_{s}_date_time", "")
        for k, turn in enumerate(conv[f"session_{s}"]):
            text = f"{turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                text += f" [shares a photo: {turn['blip_caption']}]"
            if k == 0 and date:
                text = f"({date}) {text}"
            cls = HumanMessage if turn["speaker"] == first else AIMessage
            messages.append(cls(text, id=normalise_evidence([turn["dia_id"]]).pop()))
    return messages


def evaluate(data: list[dict[str, Any]], *, embed: Any) -> tuple[dict[str, dict[int, list[float]]], dict[str, float]]:
    counter = MessageTokenCounter(tokenizer_model="gpt-4o-mini")
    recalls: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    seconds: dict[str, float] = defaultdict(float)
    for sample in data:
        history = replay(sample)
        scores = {message_key(m): s for m, s in zip(history, HeuristicScorer().score(history))}
        cache: dict[str, Any] = {}
        if embed is not None:
            texts = [str(m.content) for m in history[1:]]
            for t, v in zip(texts, np.asarray(embed.embed_documents(texts), dtype=np.float32)):
                cache[t] = v
        for n, qa in enumerate(sample["qa"]):
            evidence = normalise_evidence(qa.get("evidence", []))
            if not evidence:
                continue
            question = HumanMessage(str(qa["question"]), id=f"q{n}")
            messages = [*history, question]
            strategies = {
                "last-N trimming": lambda: trim_history(messages, max_tokens=BUDGET, token_counter=counter),
                "importance filter (heuristic)": lambda: build_context(
                    messages, scores=scores, max_tokens=BUDGET, token_counter=counter),
                "importance + lexical relevance": lambda: build_context(
                    messages, scores=scores, max_tokens=BUDGET, token_counter=counter, relevance="lexical"),
            }
            if embed is not None:
                strategies["importance + MiniLM relevance"] = lambda: build_context(
                    messages, scores=scores, max_tokens=BUDGET, token_counter=counter, relevance="embedding",
                    embed=embed, embedding_cache=cache)
            for name, build in strategies.items():
                t0 = time.perf_counter()
                kept = build()
                seconds[name] += time.perf_counter() - t0
                assert counter(kept) <= BUDGET
                present = {m.id for m in kept}
                recalls[name][qa["category"]].append(len(evidence & present) / len(evidence))
    return recalls, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-embeddings", action="store_true", help="skip the MiniLM relevance strategy")
    args = parser.parse_args()
    data = json.loads(DATA.read_text())
    embed = None
    if not args.no_embeddings:
        try:
            from langmem_ext.embeddings import MiniLMEmbeddings

            embed = MiniLMEmbeddings()
        except Exception as exc:  # the embeddings extra is optional
            print(f"MiniLM relevance skipped: {exc}", file=sys.stderr)
    t0 = time.perf_counter()
    recalls, seconds = evaluate(data, embed=embed)
    wall = time.perf_counter() - t0
    cats = sorted({c for per in recalls.values() for c in per})
    counts = {c: len(next(iter(recalls.values()))[c]) for c in cats}
    rows = []
    for name, per in recalls.items():
        every = [r for c in cats for r in per[c]]
        n_q = len(every)
        rows.append([name, *(f"{100 * statistics.mean(per[c]):.1f}" for c in cats), f"{100 * statistics.mean(every):.1f}",
                     f"{1000 * seconds[name] / n_q:.1f}"])
    headers = ["model input built by", *(f"{CATEGORIES[c]} (n={counts[c]})" for c in cats), "all", "ms/question"]
    detail = "\n\n".join([
        "# Context under a token budget: LoCoMo evidence recall",
        "Written by `benchmarks/context_budget.py`; do not edit by hand.",
        machine_line(),
        f"Each LoCoMo development conversation (5 conversations, {sum(counts.values())} questions with evidence) "
        "is replayed as a chat (first speaker = user, second = assistant, session dates and photo captions "
        "inline; ~16-26k tokens per conversation). Each question is asked as the next user message and the "
        f"model input is built under **{BUDGET:,} tokens** (exact o200k count, chat overhead included). "
        "The figure is the share of the question's evidence turns present in that input (%), "
        "averaged per LoCoMo category (official ids: 1 multi-hop, 2 temporal, 3 open-domain, "
        "4 single-hop, 5 adversarial).",
        table(headers, rows),
        "Notes: last-N trimming keeps only the end of the conversation, so it finds evidence only when the "
        "question is about the last session. The heuristic importance filter (no question awareness) keeps "
        "fact-like turns (names, dates, numbers, preferences, plans) from the whole history. Relevance to "
        "the question (lexical IDF overlap, or MiniLM cosine) adds up to 5 points to a turn's 1-10 "
        "importance. Figures are from the development split only; nothing was tuned on them beyond "
        "checking the defaults run.",
        f"Whole run: {wall:.0f} s.",
    ])
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(detail + "\n")
    summary = "\n\n".join([
        "## Context under a 2,000-token budget (`benchmarks/context_budget.py`)",
        machine_line(),
        "Share of each LoCoMo dev question's evidence turns that reach the model input (%), per category; "
        "details and method in [context_budget.md](context_budget.md).",
        table(headers, rows),
    ])
    write_section("context_budget", summary)
    print(detail)


if __name__ == "__main__":
    main()
