"""Store benchmark: our RedisStore vs langgraph-checkpoint-redis vs InMemoryStore vs raw FT.SEARCH.

One run, one Redis server (flushed between stores), the same precomputed dim-384 unit
vectors for everyone (the embedding model is excluded: texts map to stored vectors).

    .venv/bin/python benchmarks/store.py [--sizes 10000,100000] [--peer-max 10000]

Writes the ``store`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import redis
from langchain_core.embeddings import Embeddings
from langgraph.store.base import PutOp
from langgraph.store.memory import InMemoryStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import machine_line, table, timeit, write_section  # noqa: E402
from langmem_ext.connection import connect  # noqa: E402
from langmem_ext.server import EmbeddedRedis  # noqa: E402
from langmem_ext.store import RedisStore  # noqa: E402

DIMS = 384
BATCH = 1000
NS = ("bench", "user-1")


class LookupEmbeddings(Embeddings):
    """Texts ``doc <i>`` / ``query <i>`` map to precomputed vectors: no model in the timings."""

    def __init__(self, docs: np.ndarray, queries: np.ndarray) -> None:
        self.docs, self.queries = docs, queries

    def _one(self, text: str) -> Any:
        kind, i = text.split(" ")
        return (self.docs if kind == "doc" else self.queries)[int(i)]  # a float32 row, no copy

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIMS)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def value(i: int) -> dict[str, Any]:
    return {"text": f"doc {i}", "group": i % 10, "n": i}


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def load(store: Any, n: int) -> float:
    """Items per second through ``batch`` in batches of 1000 puts."""
    t0 = time.perf_counter()
    for start in range(0, n, BATCH):
        store.batch([PutOp(NS, f"k{i}", value(i)) for i in range(start, min(n, start + BATCH))])
    return n / (time.perf_counter() - t0)


def cycler(fn: Callable[[int], Any], nq: int) -> Callable[[], Any]:
    it = itertools.cycle(range(nq))
    return lambda: fn(next(it))


def bench_store(name: str, store: Any, client: redis.Redis, n: int, nq: int, repeat: int) -> dict[str, Any]:
    before = used_memory(client)
    rate = load(store, n)
    time.sleep(0.5)
    mem = (used_memory(client) - before) / n
    plain = timeit(cycler(lambda q: store.search(NS, query=f"query {q}", limit=5), nq), repeat=repeat, warmup=3)
    filt = timeit(cycler(lambda q: store.search(NS, query=f"query {q}", filter={"group": 3}, limit=5), nq),
                  repeat=repeat, warmup=3)
    got = store.search(NS, query="query 0", filter={"group": 3}, limit=5)
    ok = len(got) == 5 and all(r.value["group"] == 3 for r in got)
    return {"name": name, "n": n, "rate": rate, "mem": mem, "p50": plain["p50"], "fp50": filt["p50"], "ok": ok}


def bench_raw(client: redis.Redis, docs: np.ndarray, queries: np.ndarray, repeat: int) -> dict[str, float]:
    """The floor: FT.SEARCH KNN 5 over the same vectors, HNSW with our parameters."""
    n = len(docs)
    client.execute_command(
        "FT.CREATE", "rawidx", "ON", "HASH", "PREFIX", "1", "raw:", "SCHEMA", "g", "TAG",
        "v", "VECTOR", "HNSW", "10", "TYPE", "FLOAT32", "DIM", str(DIMS), "DISTANCE_METRIC", "COSINE",
        "M", "16", "EF_CONSTRUCTION", "200",
    )
    for start in range(0, n, BATCH):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(n, start + BATCH)):
            pipe.hset(f"raw:{i}", mapping={"v": docs[i].tobytes(), "g": str(i % 10)})
        pipe.execute()

    def knn(q: int, flt: str = "*") -> Any:
        return client.execute_command(
            "FT.SEARCH", "rawidx", f"({flt})=>[KNN 5 @v $B AS d]" if flt != "*" else "*=>[KNN 5 @v $B AS d]",
            "PARAMS", "2", "B", queries[q].tobytes(), "SORTBY", "d", "RETURN", "1", "d", "DIALECT", "2")

    plain = timeit(cycler(knn, len(queries)), repeat=repeat, warmup=3)
    filt = timeit(cycler(lambda q: knn(q, "@g:{3}"), len(queries)), repeat=repeat, warmup=3)
    return {"p50": plain["p50"], "fp50": filt["p50"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--peer-max", type=int, default=10000, help="skip the peer above this many items")
    parser.add_argument("--inmemory-max", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = np.random.default_rng(7)
    nq = 50
    url = os.environ.get("REDIS_URL")
    server = None if url else EmbeddedRedis().start()
    url = url or server.url  # type: ignore[union-attr]
    client = redis.Redis.from_url(url)
    rows: list[dict[str, Any]] = []
    raws: dict[int, dict[str, float]] = {}
    skipped: list[str] = []
    try:
        for n in sizes:
            docs, queries = unit(rng, n), unit(rng, nq)
            embed = LookupEmbeddings(docs, queries)
            index = {"dims": DIMS, "embed": embed, "fields": ["text"]}
            client.flushall()
            raws[n] = bench_raw(client, docs, queries, args.repeat)
            client.flushall()
            for label, algo in [("ours (HNSW, default)", "hnsw"), ("ours (FLAT)", "flat")]:
                client.flushall()
                ours = RedisStore(connect(url), index={**index, "algorithm": algo})  # type: ignore[arg-type]
                ours.setup()
                rows.append(bench_store(label, ours, client, n, nq, args.repeat))
                ours._client.close()
                print(rows[-1], flush=True)
            if n <= args.peer_max:
                from langgraph.store.redis import RedisStore as PeerStore

                for label, extra in [("peer (FLAT, default)", {}), ("peer (HNSW)", {"ann_index_config": {"algorithm": "hnsw"}})]:
                    client.flushall()
                    with PeerStore.from_conn_string(url, index={**index, **extra}) as peer:  # type: ignore[typeddict-item]
                        peer.setup()
                        rows.append(bench_store(label, peer, client, n, nq, max(args.repeat // 4, 20)))
                    print(rows[-1], flush=True)
            else:
                skipped.append(f"the peer at {n:,} items (its load runs at ~1k items/s; raise --peer-max to include it)")
            if n <= args.inmemory_max:
                client.flushall()
                rows.append(bench_store("InMemoryStore", InMemoryStore(index=index), client, n, nq, 5 if n > 20000 else 20))  # type: ignore[arg-type]
                rows[-1]["mem"] = None
                print(rows[-1], flush=True)
        client.flushall()
        report(rows, raws, skipped, url, args.no_write)
    finally:
        client.close()
        if server is not None:
            server.stop()


def report(rows: list[dict[str, Any]], raws: dict[int, dict[str, float]], skipped: list[str], url: str, dry: bool) -> None:
    out = [
        "## Store (`benchmarks/store.py`)",
        "",
        machine_line(url) + " Dim-384 random unit vectors, embedding excluded; `batch` of 1000 puts; "
        "`search(query, limit=5)` p50 in ms over rotating queries; the filter `{\"group\": 3}` keeps 10 % of items; "
        "memory is Redis `used_memory` growth per item.",
        "",
    ]
    body = []
    for r in rows:
        raw = raws[r["n"]]
        body.append([
            f"{r['n']:,}", r["name"], f"{r['rate']:,.0f}", f"{r['p50']:.2f}", f"{r['fp50']:.2f}",
            "yes" if r["ok"] else "**no**", f"{r['mem']:,.0f}" if r["mem"] is not None else "n/a",
        ])
    for n, raw in raws.items():
        body.append([f"{n:,}", "raw FT.SEARCH KNN 5 (HNSW, floor)", "", f"{raw['p50']:.2f}", f"{raw['fp50']:.2f}", "", ""])
    out.append(table(["items", "store", "batch put items/s", "search p50 ms", "filtered p50 ms",
                      "filtered returns 5 matches", "bytes/item"], body))
    out += ["", "Targets (brief #3), from the rows above:", ""]
    for n, ours in [(r["n"], r) for r in rows if r["name"].startswith("ours")]:
        peers = [r for r in rows if r["n"] == n and r["name"].startswith("peer")]
        if not ours:
            continue
        floor = raws[n]["p50"]
        line = f"- {n:,} items, {ours['name']}: search p50 {ours['p50'] / floor:.2f}x the raw floor (target <= 1.5x)"
        if peers:
            best_rate = max(p["rate"] for p in peers)
            best_p50 = min(p["p50"] for p in peers)
            line += (f"; batch put {ours['rate'] / best_rate:.1f}x the peer's best (target >= 10x); "
                     f"search {best_p50 / ours['p50']:.1f}x faster than the peer's best (target >= 3x)")
        out.append(line + ".")
    if skipped:
        out += ["", "Skipped: " + "; ".join(skipped) + "."]
    text = "\n".join(out)
    print(text)
    if not dry:
        write_section("store", text)


if __name__ == "__main__":
    main()
