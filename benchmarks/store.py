"""Store benchmark: our RedisStore vs langgraph-checkpoint-redis vs InMemoryStore vs raw FT.SEARCH.

One run, one Redis server, the same precomputed dim-384 vectors for everyone (the
embedding model is excluded: texts map to stored vectors). The vectors have neighbourhood
structure, as real embeddings do: 300 random centres (seeded), each item = a centre + Gaussian
noise of the centre's size, normalised; each query = an item + noise of the item's size,
normalised (no external data). On random unit vectors, where every point is about equally far
from every other, HNSW returns only ~0.1 of the true top 5, and timing that next to an exact
search compares a mostly wrong answer with a right one.

    .venv/bin/python benchmarks/store.py [--sizes 10000,100000] [--peer-max 10000]

How it measures (so that every contender sees the same machine):

- Two rounds per size, each on a flushed server holding two stores side by side (their
  keys and indexes do not overlap): ours with HNSW (our default) + the peer's default
  (FLAT), then ours with FLAT + the peer's HNSW option. Batch put rate and memory are
  measured per store while it loads.
- Every search row of a round is timed in ONE interleaved loop (each round of the loop
  calls every contender once, in a fresh random order), so load from other processes and this
  VM's CPU wake-up latency (a Redis round trip costs ~0.03 ms when the client calls
  back-to-back but ~0.13 ms after ~0.5 ms of client work: the idle vCPU halts) fall on
  all rows alike.
- The floors are raw ``FT.SEARCH`` calls on OUR index (same vectors, same HNSW graph):
  *ids only* (``*=>[KNN 5]``, ``RETURN 1 d``: the issue's floor), *same payload* (the
  same KNN returning the fields our search reads to build items), and *same query* (the
  exact command our store sends: namespace TAG filter, ``HYBRID_POLICY BATCHES``,
  ``TIMEOUT``; recorded from the store for each query, then replayed).
- recall@5: share of the exact top 5 (brute force over the same vectors) returned, for
  every search row (ours, the peers, InMemoryStore, each raw floor), so speed is read next
  to accuracy. The floors send the same ``EF_RUNTIME`` as our store (its ``ef_runtime``).
- Diagnostic: when the server is the embedded one, the ours-vs-floors loop
  is repeated with this process and redis-server pinned to one CPU.

Writes the ``store`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import redis
from langchain_core.embeddings import Embeddings
from langgraph.store.base import PutOp
from langgraph.store.memory import InMemoryStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import interleaved as shared_interleaved  # noqa: E402
from benchmarks._report import machine_line, table, timeit, write_section  # noqa: E402
from langmem_ext.connection import connect  # noqa: E402
from langmem_ext.server import EmbeddedRedis  # noqa: E402
from langmem_ext.store import RedisStore  # noqa: E402
from langmem_ext.store import _keys as K  # noqa: E402
from langmem_ext.store._search import _KNN_RETURN  # noqa: E402

DIMS = 384
BATCH = 1000
NS = ("bench", "user-1")
NQ = 50
CENTRES = 300
#: Item noise per dimension (the centres are standard normal), query noise relative to a unit item.
ITEM_NOISE, QUERY_NOISE = 1.0, 1.0
FILTER = {"group": 3}
#: What our search reads to build a SearchItem (the store's own RETURN clause).
PAYLOAD = _KNN_RETURN


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


def _norm(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def clustered(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit items around ``CENTRES`` random centres and ``NQ`` queries that are perturbed items."""
    centres = rng.standard_normal((CENTRES, DIMS))
    docs = _norm(centres[rng.integers(0, CENTRES, n)] + ITEM_NOISE * rng.standard_normal((n, DIMS)))
    noise = rng.standard_normal((NQ, DIMS)) / np.sqrt(DIMS)
    return docs, _norm(docs[rng.integers(0, n, NQ)] + QUERY_NOISE * noise)


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


def interleaved(fns: dict[str, Callable[[int], Any]], rounds: int, warmup: int = 5) -> dict[str, dict[str, float]]:
    """p50/p95 (ms) per name; each round calls every fn once (query ``round % NQ``) in a fresh
    random order (:func:`benchmarks._report.interleaved`)."""
    return shared_interleaved(
        {n: (lambda r, f=f: f(r % NQ)) for n, f in fns.items()}, rounds=rounds, warmup=warmup
    )


def recall_at_5(search: Callable[[int], list[Any]], truth: np.ndarray) -> float:
    hits = sum(len({int(it.key[1:]) for it in search(q)} & set(truth[q].tolist())) for q in range(NQ))
    return hits / (5 * NQ)


def floor_recall(floor: Callable[[int], Any], store: RedisStore, n: int, truth: np.ndarray) -> float:
    """recall@5 of a raw ``FT.SEARCH`` floor: its reply's Redis keys mapped back to item numbers."""
    number = {K.item_key(store.prefix, NS, f"k{i}").encode(): i for i in range(n)}
    hits = 0
    for q in range(NQ):
        reply = floor(q)
        ids = [r[b"id"] for r in reply[b"results"]] if isinstance(reply, dict) else reply[1::2]
        hits += len({number[x] for x in ids[:5]} & set(truth[q].tolist()))
    return hits / (5 * NQ)


def recorded_commands(store: RedisStore, flt: dict[str, Any] | None) -> list[tuple[Any, ...]]:
    """The FT.SEARCH our store sends for each query (recorded once, replayed as a floor)."""
    sent: list[tuple[Any, ...]] = []
    run = store._run_pipe

    def record(req: Any) -> Any:
        sent.extend(c for c in store._with_timeout(req, store._client).cmds if c[0] == "FT.SEARCH" and "=>" in c[2])
        return run(req)

    store._run_pipe = record  # type: ignore[method-assign]
    try:
        for q in range(NQ):
            store.search(NS, query=f"query {q}", filter=flt, limit=5)
            del sent[q + 1:]  # one KNN command per query
    finally:
        del store._run_pipe
    assert len(sent) == NQ, f"expected one KNN per query, recorded {len(sent)}"
    return sent


def search_fns(store: Any) -> tuple[Callable[[int], Any], Callable[[int], Any]]:
    return (lambda q: store.search(NS, query=f"query {q}", limit=5),
            lambda q: store.search(NS, query=f"query {q}", filter=FILTER, limit=5))


def floor_fns(store: RedisStore, queries: np.ndarray) -> dict[str, Callable[[int], Any]]:
    client, idx, cfg = store._client, store._idx, store.index_config or {}
    same, same_f = recorded_commands(store, None), recorded_commands(store, FILTER)
    # The store sends EF_RUNTIME max(ef_runtime, k) with every HNSW query; so do the floors.
    ef = ("EF_RUNTIME $EF ", ("EF", str(max(cfg["ef_runtime"], 5)))) if cfg.get("algorithm") == "hnsw" else ("", ())

    def knn(ret: tuple[str, ...]) -> Callable[[int], Any]:
        return lambda q: client.execute_command(
            "FT.SEARCH", idx, f"*=>[KNN 5 @vec $B {ef[0]}AS d]", "PARAMS", str(2 + len(ef[1])), "B",
            queries[q].tobytes(), *ef[1], "SORTBY", "d", "ASC", *ret, "LIMIT", "0", "5", "DIALECT", "2")

    return {
        "floor: ids only": knn(("RETURN", "1", "d")),
        "floor: same payload": knn(PAYLOAD),
        "floor: same query": lambda q: client.execute_command(*same[q]),
        "floor: same query (filtered)": lambda q: client.execute_command(*same_f[q]),
    }


@contextlib.contextmanager
def one_cpu(server_pid: int) -> Iterator[None]:
    """This process and redis-server on one CPU (a diagnostic: no cross-CPU wake-ups)."""
    ours, theirs = os.sched_getaffinity(0), os.sched_getaffinity(server_pid)
    cpu = min(ours)
    os.sched_setaffinity(0, {cpu})
    os.sched_setaffinity(server_pid, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(server_pid, theirs)
        os.sched_setaffinity(0, ours)


def server_cpu(client: redis.Redis) -> float:
    """Seconds of CPU redis-server has used (all its threads, user + system)."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def load_row(name: str, store: Any, client: redis.Redis, n: int) -> dict[str, Any]:
    before, cpu = used_memory(client), server_cpu(client)
    rate = load(store, n)
    cpu = server_cpu(client) - cpu
    time.sleep(0.5)
    return {"name": name, "n": n, "rate": rate, "mem": (used_memory(client) - before) / n, "cpu_us": cpu / n * 1e6}


def run_round(url: str, client: redis.Redis, n: int, docs: np.ndarray, queries: np.ndarray, algo: str,
              peer: tuple[str, dict[str, Any]] | None, rounds: int, server_pid: int | None) -> dict[str, Any]:
    """One flushed server: ours (``algo``) and optionally a peer variant, all searches interleaved."""
    client.flushall()
    index = {"dims": DIMS, "embed": LookupEmbeddings(docs, queries), "fields": ["text"]}
    truth = np.argsort(-(queries @ docs.T), axis=1)[:, :5]
    label = f"ours ({algo.upper()}{', default' if algo == 'hnsw' else ''})"
    ours = RedisStore(connect(url), index={**index, "algorithm": algo})  # type: ignore[arg-type]
    ours.setup()
    rows = [load_row(label, ours, client, n)]
    plain, filtered = search_fns(ours)
    floors = floor_fns(ours, queries)
    fns: dict[str, Callable[[int], Any]] = {label: plain, label + " (filtered)": filtered, **floors}
    recalls = {label: recall_at_5(plain, truth)}
    recalls.update({k: floor_recall(f, ours, n, truth) for k, f in floors.items() if "filtered" not in k})
    oks = {label: ok(filtered)}
    with contextlib.ExitStack() as stack:
        if peer is not None:
            from langgraph.store.redis import RedisStore as PeerStore

            name, extra = peer
            peer_store = stack.enter_context(PeerStore.from_conn_string(url, index={**index, **extra}))  # type: ignore[typeddict-item]
            peer_store.setup()
            rows.append(load_row(name, peer_store, client, n))
            p_plain, p_filtered = search_fns(peer_store)
            fns[name], fns[name + " (filtered)"] = p_plain, p_filtered
            recalls[name], oks[name] = recall_at_5(p_plain, truth), ok(p_filtered)
        timings = interleaved(fns, rounds)
        pinned = None
        if server_pid is not None and len(os.sched_getaffinity(0)) > 1:
            with one_cpu(server_pid):
                pinned = interleaved({k: v for k, v in fns.items() if k.startswith(("ours", "floor"))}, rounds)
    ours._client.close()
    for row in rows:
        row.update(p50=timings[row["name"]]["p50"], fp50=timings[row["name"] + " (filtered)"]["p50"],
                   recall=recalls[row["name"]], ok=oks[row["name"]])
    return {"rows": rows, "timings": timings, "pinned": pinned, "label": label, "recalls": recalls}


def ok(filtered: Callable[[int], list[Any]]) -> bool:
    got = filtered(0)
    return len(got) == 5 and all(r.value["group"] == 3 for r in got)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--peer-max", type=int, default=10000, help="skip the peer above this many items")
    parser.add_argument("--inmemory-max", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=300, help="interleaved search rounds per server round")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = np.random.default_rng(7)
    url = os.environ.get("REDIS_URL")
    server = None if url else EmbeddedRedis().start()
    url = url or server.url  # type: ignore[union-attr]
    client = redis.Redis.from_url(url)
    results: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    try:
        for n in sizes:
            docs, queries = clustered(rng, n)
            with_peer = n <= args.peer_max
            if not with_peer:
                skipped.append(f"the peer at {n:,} items (its load runs at ~1k items/s; raise --peer-max to include it)")
            pid = server.pid if server is not None else None
            for algo, peer in [("hnsw", ("peer (FLAT, default)", {})),
                               ("flat", ("peer (HNSW)", {"ann_index_config": {"algorithm": "hnsw"}}))]:
                res = run_round(url, client, n, docs, queries, algo, peer if with_peer else None, args.rounds, pid)
                res["n"] = n
                results.append(res)
                rows += res["rows"]
                print(res["rows"], flush=True)
            if n <= args.inmemory_max:
                client.flushall()
                mem = InMemoryStore(index={"dims": DIMS, "embed": LookupEmbeddings(docs, queries), "fields": ["text"]})  # type: ignore[arg-type]
                row = {"name": "InMemoryStore", "n": n, "rate": load(mem, n), "mem": None}
                plain, filtered = search_fns(mem)
                reps = 5 if n > 20000 else 20
                row.update(p50=timeit(lambda: plain(0), repeat=reps, warmup=1)["p50"],
                           fp50=timeit(lambda: filtered(0), repeat=reps, warmup=1)["p50"],
                           recall=recall_at_5(plain, np.argsort(-(queries @ docs.T), axis=1)[:, :5]), ok=ok(filtered))
                rows.append(row)
        client.flushall()
        report(rows, results, skipped, url, args.no_write)
    finally:
        client.close()
        if server is not None:
            server.stop()


def _verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def _ms(x: float) -> str:
    return f"{x:.2f}"


def report(rows: list[dict[str, Any]], results: list[dict[str, Any]], skipped: list[str], url: str, dry: bool) -> None:
    out = [
        "## Store (`benchmarks/store.py`)",
        "",
        machine_line(url) + f" Dim-384 clustered synthetic vectors (seeded; {CENTRES} random centres, each item = a centre "
        "+ Gaussian noise of the centre's size, normalised; each query = a stored item + noise of the item's size, "
        "normalised: neighbourhood structure as in real embeddings, where random unit vectors have none), "
        "embedding excluded; `batch` of 1000 puts; "
        "`search(query, limit=5)` p50 in ms over 50 rotating queries; the filter `{\"group\": 3}` keeps 10 % of items; "
        "memory is Redis `used_memory` growth per item; recall@5 against exact brute force over the same vectors. "
        "Each server round holds ours and one peer variant side by side, and all its searches (ours, the peer's "
        "and the raw floors) are timed in one interleaved loop, each round in a fresh random order, so every "
        "row sees the same machine load and CPU wake-up latency (a fixed or rotated order would always put "
        "the same call after the peer's CPU-heavy search, and on this VM the call after CPU-heavy work pays "
        "the idle vCPU's wake-up). InMemoryStore is timed on its own (no Redis).",
        "",
        table(["items", "store", "batch put items/s", "search p50 ms", "filtered p50 ms", "recall@5",
               "filtered returns 5 matches", "bytes/item", "put: Redis CPU µs/item"],
              [[f"{r['n']:,}", r["name"], f"{r['rate']:,.0f}", _ms(r["p50"]), _ms(r["fp50"]), f"{r['recall']:.2f}",
                "yes" if r["ok"] else "**no**", f"{r['mem']:,.0f}" if r["mem"] is not None else "n/a",
                f"{r['cpu_us']:,.0f}" if r.get("cpu_us") is not None else "n/a"] for r in rows]),
        "",
        "*put: Redis CPU µs/item* is redis-server's CPU time (`INFO cpu`, user + system) during the load, per item: "
        "a batch put can never run faster than 1e6 / that figure items/s, however little the client does. "
        "recall@5 is given for every search row, floors included (next table), so speed is read next to accuracy; "
        "HNSW rows use the store's default EF_RUNTIME (50), the floors send the same. See the `store_hnsw` "
        "section for HNSW recall on real MiniLM embeddings.",
        "",
        "Search floors: raw `FT.SEARCH` on our own index, timed in the same interleaved loop as our search "
        "(p50 ms). *ids only* = `*=>[KNN 5 @vec $B EF_RUNTIME 50 AS d] RETURN 1 d` (the issue's floor; no "
        "EF_RUNTIME on FLAT); *same payload* = the "
        "same KNN returning the fields our search reads to build items; *same query* = the exact command our "
        "store sends (namespace TAG filter, `HYBRID_POLICY BATCHES` on HNSW, `TIMEOUT`), recorded and replayed.",
        "",
    ]
    body = []
    for res in results:
        t, label = res["timings"], res["label"]
        ours, ours_f = t[label]["p50"], t[label + " (filtered)"]["p50"]
        ids, pay, same, same_f = (t[k]["p50"] for k in ("floor: ids only", "floor: same payload", "floor: same query",
                                                        "floor: same query (filtered)"))
        rc = res["recalls"]
        recall = " / ".join(f"{rc[k]:.2f}" for k in (label, "floor: ids only", "floor: same payload", "floor: same query"))
        body.append([f"{res['n']:,}", label, "interleaved", _ms(ours), _ms(ids), _ms(pay), _ms(same),
                     f"{ours / ids:.2f}x", f"{ours / pay:.2f}x", f"{ours / same:.2f}x", _ms(ours_f), _ms(same_f), recall])
        if res["pinned"]:
            p = res["pinned"]
            po, pids, ppay, psame = (p[k]["p50"] for k in (label, "floor: ids only", "floor: same payload", "floor: same query"))
            body.append([f"{res['n']:,}", label, "pinned to 1 CPU", _ms(po), _ms(pids), _ms(ppay), _ms(psame),
                         f"{po / pids:.2f}x", f"{po / ppay:.2f}x", f"{po / psame:.2f}x",
                         _ms(p[label + ' (filtered)']['p50']), _ms(p["floor: same query (filtered)"]["p50"]), recall])
    out.append(table(["items", "ours", "timing", "ours p50", "ids only", "same payload", "same query",
                      "ours / ids", "ours / payload", "ours / same query", "ours filtered", "same query filtered",
                      "recall@5 ours / ids / payload / same query"], body))
    out += ["", "Targets (brief #3), from the rows above:", ""]
    for res in results:
        n, label, t = res["n"], res["label"], res["timings"]
        mine = next(r for r in rows if r["n"] == n and r["name"] == label)
        peers = [r for r in rows if r["n"] == n and r["name"].startswith("peer")]
        pay, ids = mine["p50"] / t["floor: same payload"]["p50"], mine["p50"] / t["floor: ids only"]["p50"]
        line = (f"- {n:,} items, {label}: search p50 {pay:.2f}x the same-payload floor and {ids:.2f}x the "
                f"ids-only floor (target <= 1.5x: {_verdict(max(pay, ids) <= 1.5)})")
        if peers:
            best_rate = max(p["rate"] for p in peers)
            fastest = min(peers, key=lambda p: p["p50"])
            best_p50 = fastest["p50"]
            line += (f"; batch put {mine['rate'] / best_rate:.1f}x the peer's best (target >= 10x: "
                     f"{_verdict(mine['rate'] / best_rate >= 10)}; Redis alone "
                     f"spends {mine['cpu_us']:,.0f} µs of CPU per item here, a ceiling of "
                     f"{1e6 / mine['cpu_us'] / best_rate:.1f}x); "
                     f"search {best_p50 / mine['p50']:.1f}x faster than the peer's fastest, {fastest['name']} "
                     f"(target >= 3x: {_verdict(best_p50 / mine['p50'] >= 3)}; recall@5 ours {mine['recall']:.2f}, "
                     f"theirs {fastest['recall']:.2f})")
        out.append(line + ".")
    if skipped:
        out += ["", "Skipped: " + "; ".join(skipped) + "."]
    text = "\n".join(out)
    print(text)
    if not dry:
        write_section("store", text)


if __name__ == "__main__":
    main()
