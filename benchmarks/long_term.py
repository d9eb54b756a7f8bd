"""Long-term memory benchmark: LLM calls per reflection and RecallNode latency at 10k memories.

1. LLM calls per reflection. The same 6-turn conversation is reflected on turn by
   turn by our ``ReflectionNode`` and by langmem 0.0.30's
   ``create_memory_store_manager`` (default settings, and with the ``query_model``
   langmem recommends for multi-query lookup), each driven by a counting fake chat
   model that answers every call with a valid insert. Also reported: how many
   related memories each looked up per reflection (langmem's default queries
   with the last message window only).
2. Recall latency at 10k memories (7k semantic + 3k episodic + 10 rules, one user),
   embedding excluded (deterministic 384-dim vectors, cached: every query is embedded
   before timing). Ours: ``RecallNode.recall`` on our ``RedisStore`` (default
   ``mode="hybrid"``: one vector and one BM25 search per query, fused; the rules, the
   access statistics and the reinforcement write), with and without reinforcement, and
   with ``mode="vector"`` (one vector search per query). Peer, same server: langmem's ``create_search_memory_tool`` over
   langgraph-checkpoint-redis 0.5.2's ``RedisStore`` (one search, no ranking, no
   reinforcement). Reference: ``RecallNode`` on ``InMemoryStore``.

Run: ``.venv/bin/python benchmarks/long_term.py [--n 10000 --repeat 200]``.
Writes the ``long_term`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_core.callbacks import CallbackManagerForLLMRun  # noqa: E402
from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.runnables import RunnableLambda  # noqa: E402
from langgraph.store.base import PutOp  # noqa: E402
from langgraph.store.memory import InMemoryStore  # noqa: E402
from pydantic import ConfigDict, Field  # noqa: E402

from benchmarks._report import machine_line, percentiles, table, timeit, write_section  # noqa: E402
from langmem_ext.connection import connect  # noqa: E402
from langmem_ext.long_term import (  # noqa: E402
    EpisodicMemory,
    ProceduralMemory,
    RecallNode,
    ReflectionNode,
    SemanticMemory,
    to_value,
)
from langmem_ext.server import EmbeddedRedis  # noqa: E402
from langmem_ext.store import RedisStore  # noqa: E402

DIMS = 384
USER = "bench-user"
CONFIG = {"configurable": {"user_id": USER, "thread_id": "t1"}}
TURNS = [
    "Hi, I'm Dana. I live in Paris and work as a nurse.",
    "My daughter Lea just started school; she loves drawing.",
    "I'm training for a half marathon in October.",
    "Big news: we moved from Paris to Lisbon last week.",
    "Please keep your answers short, I read them on my phone.",
    "Lea's school in Lisbon has a great art club.",
]


class CachedEmbeddings:
    """Deterministic unit vectors per text, cached: timing never includes embedding."""

    def __init__(self) -> None:
        self.cache: dict[str, list[float]] = {}

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vec = self.cache.get(text)
            if vec is None:
                seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
                v = np.random.default_rng(seed).standard_normal(DIMS).astype(np.float32)
                vec = self.cache[text] = (v / np.linalg.norm(v)).tolist()
            out.append(vec)
        return out


class CountingModel(BaseChatModel):
    """Answers every call with one valid insert and counts the calls."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    counter: Any = Field(default_factory=lambda: [0])
    tools: list[str] = Field(default_factory=list)
    turn: Any = Field(default_factory=lambda: [0])

    @property
    def _llm_type(self) -> str:
        return "counting"

    def _generate(self, messages: list[BaseMessage], stop: Any = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        self.counter[0] += 1
        fact = f"Fact from turn {self.turn[0]}"
        if "search_memory" in self.tools:
            calls = [{"name": "search_memory", "id": f"s{i}", "args": {"query": f"q{i}"}} for i in range(2)]
        else:
            name = next((t for t in self.tools if t not in ("PatchDoc", "Done", "RemoveDoc")), "Memory")
            calls = [{"name": name, "id": "c1", "args": {"content": fact}}]
        return ChatResult(generations=[ChatGeneration(message=AIMessage("", tool_calls=calls))])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        names = [getattr(t, "name", None) or getattr(t, "__name__", None) or t.get("name", "") for t in tools]  # type: ignore[union-attr]
        return self.model_copy(update={"tools": [n for n in names if n]})

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        def run(_: Any) -> Any:
            self.counter[0] += 1
            return {"operations": [{"action": "insert", "kind": "semantic",
                                    "memory": {"content": f"Fact from turn {self.turn[0]}"}}]}
        return RunnableLambda(run)


class CountingStore(InMemoryStore):
    """InMemoryStore that counts the searches it serves."""

    searches = 0

    def batch(self, ops: Any) -> Any:
        ops = list(ops)
        type(self).searches += sum(type(op).__name__ == "SearchOp" for op in ops)
        return super().batch(ops)


def bench_calls() -> list[list[Any]]:
    from langmem import create_memory_store_manager

    rows = []
    embed = CachedEmbeddings()
    index = {"dims": DIMS, "embed": embed, "fields": ["content"]}

    def drive(label: str, reflect: Any, model: CountingModel) -> None:
        messages: list[BaseMessage] = []
        per_turn = []
        CountingStore.searches = 0
        for i, text in enumerate(TURNS):
            model.turn[0] = i
            messages += [HumanMessage(text, id=f"h{i}"), AIMessage(f"Noted ({i}).", id=f"a{i}")]
            before = model.counter[0]
            reflect(messages)
            per_turn.append(model.counter[0] - before)
        rows.append([label, f"{sum(per_turn) / len(per_turn):.2f}", max(per_turn),
                     f"{CountingStore.searches / len(TURNS):.1f}", len(TURNS)])

    model = CountingModel()
    store = CountingStore(index=index)
    node = ReflectionNode(model=model, store=store)
    drive("langmem-ext `ReflectionNode` (all kinds, several queries)", lambda m: node.reflect(m, config=CONFIG), model)

    for label, extra in [("langmem 0.0.30 `create_memory_store_manager` (default)", {}),
                         ("langmem 0.0.30 `create_memory_store_manager` (query_model)", {"query_model": "q"})]:
        model = CountingModel()
        store = CountingStore(index=index)
        if extra:
            extra = {"query_model": CountingModel(counter=model.counter, turn=model.turn)}
        manager = create_memory_store_manager(model, namespace=("memories", "{user_id}"), store=store, **extra)
        drive(label, lambda m: manager.invoke({"messages": m}, config=CONFIG), model)
    return rows


def seed_items(n: int) -> tuple[list[tuple[tuple[str, ...], Any]], list[str]]:
    topics = ["running", "school", "cooking", "travel", "music", "work", "garden", "books", "health", "family"]
    items = []
    for i in range(n):
        topic = topics[i % len(topics)]
        if i % 10 < 7:
            m: Any = SemanticMemory(content=f"User fact {i} about {topic}", importance=1 + i % 10)
            items.append((("memories", USER, "semantic"), m))
        else:
            m = EpisodicMemory(situation=f"User talked about {topic} in conversation {i}", importance=1 + i % 10)
            items.append((("memories", USER, "episodic"), m))
    for i in range(10):
        items.append((("memories", USER, "procedural"), ProceduralMemory(rule=f"Rule number {i}")))
    queries = [f"Tell me about my {t} plans, question {j}" for j in range(5) for t in topics]
    return items, queries


def load(store: Any, items: list[tuple[tuple[str, ...], Any]]) -> float:
    t0 = time.perf_counter()
    for start in range(0, len(items), 1000):
        store.batch([PutOp(ns, m.id, to_value(m), index=["content"]) for ns, m in items[start:start + 1000]])
    return len(items) / (time.perf_counter() - t0)




def bench_recall(url: str, n: int, repeat: int) -> tuple[list[list[Any]], dict[str, float]]:
    """Both stores loaded side by side on one server; the variants are timed in interleaved
    rounds so that the (shared, noisy) machine's load falls on all of them alike."""
    client = redis.Redis.from_url(url)
    embed = CachedEmbeddings()
    index = {"dims": DIMS, "embed": embed, "fields": ["content"]}
    items, queries = seed_items(n)
    embed(queries)  # embedding excluded from every timing below
    rates: dict[str, float] = {}
    client.flushall()
    ours = RedisStore(connect(url), index=index)  # type: ignore[arg-type]
    ours.setup()
    rates["ours"] = load(ours, items)

    from langgraph.store.redis import RedisStore as PeerStore
    from langmem import create_search_memory_tool

    earlier = [HumanMessage(f"Earlier I said something about {t} and my week.") for t in ("running", "books")]

    def convo(q: str, turns: int) -> list[BaseMessage]:
        return [HumanMessage(q)] if turns == 1 else [*earlier[: turns - 1], HumanMessage(q)]

    variants: list[tuple[str, Any, Any]] = []  # (label, call(q), info)
    nodes = []
    for label, reinforce, turns, mode in [
        ("`RecallNode` (default: hybrid), 1 message, reinforcement coalesced in background", "background", 1, "hybrid"),
        ("`RecallNode` (default: hybrid), 1 message, reinforcement inline", "inline", 1, "hybrid"),
        ("`RecallNode` (default: hybrid), 1 message, no reinforcement", "off", 1, "hybrid"),
        ("`RecallNode` (default: hybrid), 3 messages (3 queries), coalesced reinforcement", "background", 3, "hybrid"),
        ("`RecallNode(mode=\"vector\")`, 1 message, coalesced reinforcement", "background", 1, "vector"),
        ("`RecallNode(mode=\"vector\")`, 3 messages (3 queries), coalesced reinforcement", "background", 3, "vector"),
    ]:
        node = RecallNode(store=ours, reinforce=reinforce, mode=mode)
        nodes.append(node)
        for q in queries:
            embed(node.queries(convo(q, turns)))
        got = node.recall(convo(queries[0], turns), config=CONFIG)
        variants.append((f"ours: {label}", (lambda q, node=node, turns=turns: node.recall(convo(q, turns), config=CONFIG)),
                         (len(got.memories), len(got.rules))))
    variants.append(("ours: one `RedisStore.search(query, limit=16)` alone (the floor of one query)",
                     lambda q: ours.search(("memories", USER), query=q, limit=16), (16, "-")))
    with PeerStore.from_conn_string(url, index=index) as peer:  # type: ignore[arg-type]
        peer.setup()
        rates["peer"] = load(peer, items)
        tool = create_search_memory_tool(namespace=("memories", "{user_id}"), store=peer)
        variants.append(("peer: langmem `create_search_memory_tool` on langgraph-checkpoint-redis `RedisStore` "
                         "(one search only)", lambda q: tool.invoke({"query": q, "limit": 9}, CONFIG), (9, "-")))
        samples: dict[str, list[float]] = {label: [] for label, _, _ in variants}
        it = itertools.cycle(queries)
        for _, call, _ in variants:  # warm-up
            for _ in range(5):
                call(next(it))
        # Each round calls every variant once with the same query, in a fresh seeded random order:
        # fixed blocks would give each variant the same neighbours (and the same machine phase),
        # and on this VM the call after CPU-heavy work pays the idle vCPU's wake-up.
        order_rng = random.Random(7)
        order = list(variants)
        for r in range(max(repeat, 20)):
            q = queries[r % len(queries)]
            order_rng.shuffle(order)
            for label, call, _ in order:
                t0 = time.perf_counter()
                call(q)
                samples[label].append((time.perf_counter() - t0) * 1000)
        for node in nodes:
            node.flush()
    rows: list[list[Any]] = []
    for label, _, (n_mem, n_rules) in variants:
        t = percentiles(samples[label])
        rows.append([label, f"{t['p50']:.2f}", f"{t['p95']:.2f}", n_mem, n_rules])
        print(rows[-1], flush=True)
    client.flushall()

    mem = InMemoryStore(index=index)  # type: ignore[arg-type]
    load(mem, items)
    node = RecallNode(store=mem)
    it = itertools.cycle(queries)
    t = timeit(lambda: node.recall([HumanMessage(next(it))], config=CONFIG), repeat=10, warmup=2)
    rows.append(["reference: `RecallNode` on InMemoryStore (brute force)", f"{t['p50']:.2f}", f"{t['p95']:.2f}", "", ""])
    client.close()
    return rows, rates


def target_line(rows: list[list[Any]]) -> str:
    """RecallNode's p50 (one message, coalesced reinforcement) against the 5 ms target, per mode."""
    p50 = {row[0]: float(row[1]) for row in rows}
    hybrid = next(v for k, v in p50.items() if "(default: hybrid), 1 message, reinforcement coalesced" in k)
    vector = next(v for k, v in p50.items() if '"vector"' in k and "1 message, coalesced" in k)
    verdict = lambda v: "within" if v <= 5.0 else "over"  # noqa: E731
    return (f"Target: `RecallNode` p50 <= 5 ms at this size in hybrid mode. Default (`mode=\"hybrid\"`) {hybrid:.2f} ms: "
            f"{verdict(hybrid)} the target; `mode=\"vector\"` {vector:.2f} ms. Hybrid adds one BM25 search (sent in the same "
            "round trip as the vector search) and reads, parses and ranks the extra candidates it finds. Its server time is "
            "the larger part: these synthetic memories share words with every query (\"about\" is in 7,000 of the 10,000), "
            "and BM25 scores every memory that holds a query word (about 2.2 ms of Redis time per query on the idle "
            "machine, against 0.9 ms for the vector search). It buys the LoCoMo recall of docs/recall.md (raw turns, "
            "hybrid against vector alone).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    calls = bench_calls()
    for row in calls:
        print(row, flush=True)
    url = os.environ.get("REDIS_URL")
    server = None if url else EmbeddedRedis().start()
    url = url or server.url  # type: ignore[union-attr]
    try:
        recall_rows, rates = bench_recall(url, args.n, args.repeat)
        text = "\n".join([
            "## Long-term memory (`benchmarks/long_term.py`)",
            "",
            machine_line(url),
            "",
            "### LLM calls per reflection",
            "",
            f"The same {len(TURNS)}-turn conversation, reflected on after every turn; a counting fake model "
            "answers each call with one valid insert.",
            "",
            table(["reflection", "LLM calls per reflection (mean)", "max", "store searches per reflection", "reflections"], calls),
            "",
            "langmem's default lookup searches with the most recent message window only (and issues each search "
            "twice); ours searches each memory kind with up to 6 queries drawn from all new messages (one store batch) "
            "plus one listing of the rules, and still makes one LLM call for all memory kinds. With `query_model`, "
            "langmem spends a second LLM call per reflection to write its queries.",
            "",
            f"### Recall at {args.n:,} memories",
            "",
            "One user; 70 % semantic, 30 % episodic, plus 10 procedural rules; 384-dim vectors, embedding excluded "
            "(cached); rotating queries; latency in ms. Ours is `RecallNode.recall` on our `RedisStore`: by default "
            "(`mode=\"vector\"`) one vector search per query over the user's namespace (all kinds); with "
            "`mode=\"hybrid\"` (the LoCoMo recipe of docs/recall.md) one vector and one BM25 search per query in one "
            "batch, fused by z-score with neighbour propagation; the rules listing (cached by the node for up to 5 s, "
            "invalidated by this process's writes), the access statistics, ranking, "
            "rendering within the token budget, and the reinforcement write (coalesced and written by a background thread at most once a second by default, inline "
            "when stated). The peer row does only a search: no ranking, no rules, no statistics. Both stores hold the "
            f"same items on the same server, and all rows are timed in {max(args.repeat, 20)} interleaved rounds: each "
            "round calls every row once with the same query, in a fresh seeded random order, so the shared "
            "machine's load and this VM's CPU wake-up latency fall on all of them alike.",
            "",
            table(["recall", "p50 ms", "p95 ms", "memories", "rules"], recall_rows),
            "",
            target_line(recall_rows),
            "",
            f"Load rate for the {len(recall_rows) and args.n:,} items (batches of 1000): ours {rates['ours']:.0f} items/s, "
            f"peer {rates['peer']:.0f} items/s.",
        ])
        print(text)
        if not args.no_write:
            write_section("long_term", text)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
