"""Sustained load: 50 concurrent async conversations through a Redis saver and store.

Each turn is one ``graph.ainvoke`` of a chat graph whose node recalls the
thread's memories (``store.asearch`` with a query), answers with a scripted
fake model and stores one new memory (``store.aput``), so every turn costs a
checkpoint read + write, one vector search and one indexed write. Embeddings
are a deterministic 384-dim hash (MiniLM's size) so the figures measure Redis
and the backends, not the embedding model.

Measured side by side on one embedded Redis 8 (FLUSHALL between runs):
langmem-ext's ``AsyncRedisSaver``/``AsyncRedisStore`` and the peer
``langgraph-checkpoint-redis`` 0.5.2. Reports turns/s, p50/p99 turn latency,
Redis memory per thread (``MEMORY USAGE`` of the checkpointer's keys after 20
turns) and per memory (``used_memory`` growth over 2,000 store puts, index included),
and whether every message was accounted for.

Run: ``.venv/bin/python benchmarks/load.py [--threads 50 --turns 20]``.
Writes the ``load`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langgraph.config import get_config  # noqa: E402
from langgraph.graph import START, MessagesState, StateGraph  # noqa: E402

from benchmarks._report import machine_line, percentiles, table, write_section  # noqa: E402
from langmem_ext.server import EmbeddedRedis  # noqa: E402

DIMS = 384


def hash_embed(texts: list[str]) -> list[list[float]]:
    """Deterministic unit vectors from text hashes (cheap stand-in for MiniLM)."""
    out = []
    for text in texts:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        vec = np.random.default_rng(seed).standard_normal(DIMS).astype(np.float32)
        out.append((vec / np.linalg.norm(vec)).tolist())
    return out


async def ahash_embed(texts: list[str]) -> list[list[float]]:
    return hash_embed(texts)


def index_config() -> dict[str, Any]:
    return {"dims": DIMS, "embed": hash_embed, "fields": ["content"]}


def build_graph(checkpointer: Any, store: Any) -> Any:
    async def chat(state: MessagesState) -> dict[str, Any]:
        thread = get_config()["configurable"]["thread_id"]
        last = str(state["messages"][-1].content)
        recalled = await store.asearch(("memories", thread), query=last, limit=3)
        turn = len(state["messages"]) // 2
        await store.aput(("memories", thread), f"m{turn}", {"content": f"user said {last}"})
        return {"messages": [AIMessage(content=f"echo: {last} ({len(recalled)} recalled)")]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    return builder.compile(checkpointer=checkpointer, store=store)


@asynccontextmanager
async def ours(url: str) -> AsyncIterator[tuple[Any, Any]]:
    from langmem_ext.checkpoint import AsyncRedisSaver
    from langmem_ext.connection import aconnect
    from langmem_ext.store import AsyncRedisStore

    saver_client, store_client = aconnect(url), aconnect(url)
    saver = AsyncRedisSaver(saver_client)
    store = AsyncRedisStore(store_client, index=index_config())
    await saver.asetup()
    await store.asetup()
    try:
        yield saver, store
    finally:
        await saver_client.aclose()
        await store_client.aclose()


@asynccontextmanager
async def peer(url: str) -> AsyncIterator[tuple[Any, Any]]:
    """The peer's AsyncRedisSaver with its sync RedisStore.

    Its AsyncRedisStore fails at construction with redisvl 0.28 (a sync
    SearchIndex given an async client), so its async calls go through
    RedisStore.abatch, which runs the sync store in the default executor.
    """
    from langgraph.checkpoint.redis.aio import AsyncRedisSaver
    from langgraph.store.redis import RedisStore

    async with AsyncRedisSaver.from_conn_string(url) as saver:
        await saver.asetup()
        with RedisStore.from_conn_string(url, index=index_config()) as store:
            store.setup()
            yield saver, store


@asynccontextmanager
async def peer_big_pool(url: str) -> AsyncIterator[tuple[Any, Any]]:
    """The peer again, given a client whose pool allows 1,000 connections.

    With its defaults it runs out of connections at 50 concurrent threads (redis-py 8's
    async pool raises ``MaxConnectionsError`` past 100 instead of waiting).
    """
    import redis.asyncio as aredis
    from langgraph.checkpoint.redis.aio import AsyncRedisSaver
    from langgraph.store.redis import RedisStore

    client = aredis.Redis.from_url(url, max_connections=1000)
    saver = AsyncRedisSaver(redis_client=client)
    await saver.asetup()
    try:
        with RedisStore.from_conn_string(url, index=index_config()) as store:
            store.setup()
            yield saver, store
    finally:
        await client.aclose()


def _checkpoint_bytes(client: redis.Redis) -> int:
    """MEMORY USAGE summed over the checkpointer's keys (ours: ``*:cp:*``; peer: ``checkpoint*``)."""
    total = 0
    for key in client.scan_iter(count=1000):
        if b":cp:" in key or key.startswith(b"checkpoint"):
            total += int(client.memory_usage(key, samples=0) or 0)
    return total


async def run(
    factory: Callable[[str], Any], url: str, *, threads: int, turns: int
) -> dict[str, Any]:
    client = redis.Redis.from_url(url)
    client.flushall()
    base = int(client.info("memory")["used_memory"])
    latencies: list[float] = []
    async with factory(url) as (saver, store):
        graph = build_graph(saver, store)
        after_setup = int(client.info("memory")["used_memory"])

        async def conversation(i: int) -> list[str]:
            cfg = {"configurable": {"thread_id": f"t{i}"}}
            for turn in range(turns):
                t0 = time.perf_counter()
                await graph.ainvoke({"messages": [HumanMessage(f"t{i} turn {turn}")]}, cfg)
                latencies.append((time.perf_counter() - t0) * 1000)
            state = await graph.aget_state(cfg)
            return [str(m.content) for m in state.values["messages"]]

        started = time.perf_counter()
        results = await asyncio.gather(*(conversation(i) for i in range(threads)))
        wall = time.perf_counter() - started
        checkpoint_bytes = _checkpoint_bytes(client)
        accounted = all(
            [r for j, r in enumerate(res) if j % 2 == 0]
            == [f"t{i} turn {t}" for t in range(turns)]
            and len(res) == 2 * turns
            for i, res in enumerate(results)
        )
        memories = 0
        for i in range(threads):
            memories += len(await store.asearch(("memories", f"t{i}"), limit=turns + 5))
    # Memory per item: a separate fill of the store alone.
    client.flushall()
    async with factory(url) as (_saver, store):
        before = int(client.info("memory")["used_memory"])
        n_items = 2000
        for start in range(0, n_items, 100):
            await asyncio.gather(
                *(
                    store.aput(("fill", f"u{k % 20}"), f"k{k}", {"content": f"memory number {k} about topic {k % 37}"})
                    for k in range(start, start + 100)
                )
            )
        per_memory = (int(client.info("memory")["used_memory"]) - before) / n_items
    client.flushall()
    client.close()
    pct = percentiles(latencies)
    return {
        "turns_per_s": threads * turns / wall,
        "p50": pct["p50"],
        "p99": pct["p99"],
        "per_thread_kib": checkpoint_bytes / threads / 1024,
        "per_memory_b": per_memory,
        "accounted": accounted and memories == threads * turns,
        "messages_ok": accounted,
        "memories_found": memories,
        "setup_kib": (after_setup - base) / 1024,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--url", default=None, help="an existing Redis (FLUSHALLed!)")
    args = parser.parse_args()
    server = None if args.url else EmbeddedRedis().start()
    url = args.url or server.url  # type: ignore[union-attr]
    rows = []
    figures: dict[str, dict[str, Any]] = {}
    try:
        backends = (
            ("langmem-ext", ours),
            ("langgraph-checkpoint-redis 0.5.2 (defaults)", peer),
            ("langgraph-checkpoint-redis 0.5.2 (pool of 1,000)", peer_big_pool),
        )
        for name, factory in backends:
            try:
                fig = await run(factory, url, threads=args.threads, turns=args.turns)
            except Exception as exc:  # noqa: BLE001 - a peer failing is a result
                msg = f"failed: {type(exc).__name__}: {str(exc)[:80]}"
                rows.append([name, msg, "", "", "", "", ""])
                print(name, msg, file=sys.stderr)
                continue
            figures[name] = fig
            rows.append(
                [
                    name,
                    f"{fig['turns_per_s']:.0f}",
                    f"{fig['p50']:.1f}",
                    f"{fig['p99']:.1f}",
                    f"{fig['per_thread_kib']:.1f}",
                    f"{fig['per_memory_b']:.0f}",
                    "yes" if fig["accounted"] else
                    f"NO (messages {'ok' if fig['messages_ok'] else 'WRONG'}; "
                    f"{fig['memories_found']} of {args.threads * args.turns} memories found)",
                ]
            )
            print(name, fig, file=sys.stderr)
        md = (
            f"### Load: {args.threads} concurrent async threads x {args.turns} turns\n\n"
            f"{machine_line(url)} Each turn = `graph.ainvoke` with checkpointer + store: "
            "one recall search (limit 3), one memory put, deterministic 384-dim hash "
            "embeddings. Memory per thread = `MEMORY USAGE` of the checkpointer's keys / threads "
            f"after {args.turns} turns (every checkpoint kept); per memory = `used_memory` growth "
            "over 2,000 store puts (value + vector + index). The peer's store is its sync "
            "`RedisStore` (its `AsyncRedisStore` cannot be built with redisvl 0.28).\n\n"
            + table(
                ["backend", "turns/s", "p50 turn ms", "p99 turn ms", "KiB per thread",
                 "bytes per memory", "every message accounted"],
                rows,
            )
        )  # fmt: skip
        write_section("load", md)
        print(md)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
