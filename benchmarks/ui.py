"""Memory browser benchmark: server time of its pages for a user with 10,000 memories.

One user with ``--n`` memories (60 % current facts, 10 % closed facts, 25 % episodes,
5 % rules, each with a short change history) plus 20 other users, in our ``RedisStore``
on one Redis, and a 40-turn thread of that user in our ``RedisSaver``. The app is the
one ``langmem-ext ui`` serves (``create_app``: the access guard, the routes, the Jinja2
templates), driven in-process over ASGI; **server time** is the guard's
``Server-Timing: app;dur=...`` (request in → response headers out: the service calls,
the rendering and the security checks), so the HTTP client's own cost is excluded.

Next to each page, the service calls it makes (no rendering, no HTTP) are timed in the
same interleaved rounds: the difference is what the web layer costs. No peer ships a
memory viewer we can run offline (Mem0's, Letta's and Zep's are hosted or need their
own servers and a model), so the comparison is with our own floor.

Vectors are deterministic 384-dim unit vectors, cached, so embedding is excluded from
every timing; the MiniLM query embedding that a real search adds is timed on its own.

Run: ``.venv/bin/python benchmarks/ui.py [--n 10000 --rounds 100]``.
Writes the ``ui`` section of docs/benchmarks.md. Targets (issue #16): the user page
≤ 200 ms server time at 10,000 memories; search ≤ 20 ms server time.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langgraph.store.base import PutOp  # noqa: E402

from benchmarks._report import interleaved, machine_line, table, write_section  # noqa: E402
from benchmarks.long_term import DIMS, CachedEmbeddings  # noqa: E402  (deterministic cached vectors)
from langmem_ext.long_term import EpisodicMemory, ProceduralMemory, SemanticMemory, to_value  # noqa: E402
from langmem_ext.long_term.operations import record_change  # noqa: E402
from langmem_ext.long_term.schemas import utcnow  # noqa: E402
from langmem_ext.server import EmbeddedRedis  # noqa: E402

USER = "bench-user"
QUERIES = ["where does she live", "what does she do for work", "favourite food", "her sister's name",
           "how to answer", "last holiday", "allergies", "the dog's name"]
TOPICS = ["lives in", "works as", "likes", "visited", "studies", "plays", "owns", "fears", "cooks", "reads"]
THINGS = ["Lisbon", "a nurse", "jazz", "Kyoto", "physics", "the cello", "a red bike", "spiders", "ramen", "poetry"]


def memories(n: int) -> list[tuple[str, Any]]:
    """``n`` memories of one user: (kind, memory), each with an insert and an update in its history."""
    now = utcnow()
    out: list[tuple[str, Any]] = []
    for i in range(n):
        share = i % 20
        when = now - timedelta(hours=i)
        topic, thing = TOPICS[i % len(TOPICS)], THINGS[(i // len(TOPICS)) % len(THINGS)]
        if share < 12:
            m: Any = SemanticMemory(content=f"The user {topic} {thing} (note {i})", importance=1 + i % 10,
                                    source_ids=[f"m{i}"], created_at=when, updated_at=when)
        elif share < 14:
            m = SemanticMemory(content=f"The user {topic} {thing} (old note {i})", importance=1 + i % 10,
                               valid_from=when - timedelta(days=300), valid_to=when, created_at=when, updated_at=when)
        elif share < 19:
            m = EpisodicMemory(situation=f"Talked about {thing} and why the user {topic} it (episode {i})",
                               occurred_at=when, created_at=when, updated_at=when)
        else:
            m = ProceduralMemory(rule=f"When {thing} comes up, keep answers short (rule {i})", created_at=when, updated_at=when)
        m = record_change(m, op="insert", old=None, reason="seed", now=when, bump=False)
        m = record_change(m, op="update", old=m.content if hasattr(m, "content") else "", reason="seed edit", now=when)
        out.append((m.kind, m))
    return out


def seed(store: Any, saver: Any, n: int) -> None:
    ops = [PutOp(("memories", USER, kind), m.id, to_value(m), index=["content"]) for kind, m in memories(n)]
    for u in range(20):
        ops += [PutOp(("memories", f"other-{u}", kind), m.id, to_value(m), index=["content"]) for kind, m in memories(50)]
    for start in range(0, len(ops), 1000):
        store.batch(ops[start:start + 1000])
    from langgraph.graph import START, MessagesState, StateGraph

    builder = StateGraph(MessagesState)
    builder.add_node("reply", lambda s: {"messages": [AIMessage(f"Noted ({len(s['messages'])}).")]})
    builder.add_edge(START, "reply")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "bench-thread", "user_id": USER}}
    for turn in range(40):
        graph.invoke({"messages": [HumanMessage(f"Turn {turn}: something worth remembering about {THINGS[turn % 10]}.")]}, config)


def server_ms(response: Any) -> float:
    match = re.search(r"app;dur=([\d.]+)", response.headers.get("server-timing", ""))
    if response.status_code != 200 or match is None:
        raise RuntimeError(f"{response.request.url} answered {response.status_code}: {response.text[:300]}")
    return float(match.group(1))


def bench(url: str, n: int, rounds: int) -> tuple[list[list[Any]], dict[str, float]]:
    from starlette.testclient import TestClient

    from langmem_ext.checkpoint import RedisSaver
    from langmem_ext.service import MemoryService
    from langmem_ext.store import RedisStore
    from langmem_ext.ui import create_app, routes

    embed = CachedEmbeddings()
    embed(QUERIES)
    index = {"dims": DIMS, "embed": embed, "fields": ["content"]}
    with RedisStore.from_conn_string(url, index=index) as store, RedisSaver.from_conn_string(url) as saver:  # type: ignore[arg-type]
        saver.setup()
        t0 = time.perf_counter()
        seed(store, saver, n)
        print(f"seeded {n:,} + 1,000 memories and a 40-turn thread in {time.perf_counter() - t0:.1f} s", flush=True)
        service = MemoryService(store)
        app = create_app(saver=saver, service=service, token="b" * 43)
        client = TestClient(app, base_url="http://127.0.0.1:7600")
        client.get("/?token=" + "b" * 43)
        server: dict[str, list[float]] = {}

        def page(name: str, path: Any) -> Any:
            def run(i: int) -> None:
                server.setdefault(name, []).append(server_ms(client.get(path(i) if callable(path) else path)))
            return run

        def user_calls(i: int) -> None:
            routes.user_page_data(service, USER, dict.fromkeys(("facts", "closed", "episodes", "rules")))

        fns = {
            "users page (`/`, 21 users)": page("users", "/"),
            "users: service.list_users": lambda i: service.list_users(limit=101),
            f"user page (`/users/{USER}`, 50 memories in 4 lists)": page("user", f"/users/{USER}"),
            "user: its 4 service calls": user_calls,
            "user page, next page of facts": page("user2", None),
            "search page (`/users/…/search?q=`, 10 hits)": page("search", lambda i: f"/users/{USER}/search?q={QUERIES[i % len(QUERIES)]}"),
            "search: service.search": lambda i: service.search(USER, QUERIES[i % len(QUERIES)], limit=routes.SEARCH_HITS),
            "thread page (40 turns, 80 messages)": page("thread", f"/users/{USER}/threads/bench-thread"),
        }
        first = service.list_memories(USER, kind="semantic", closed=False, limit=routes.PER_PAGE).next_cursor
        fns["user page, next page of facts"] = page("user2", f"/users/{USER}?facts={first}")
        stats_rounds = max(5, rounds // 10)
        timed = interleaved(fns, rounds=rounds, warmup=5)
        slow = interleaved({"stats page (reads all memories)": page("stats", f"/users/{USER}/stats"),
                            "stats: service.stats": lambda i: service.stats(USER)}, rounds=stats_rounds, warmup=1)
        timed.update(slow)
        from benchmarks._report import percentiles

        rows = []
        for name, t in timed.items():
            key = {"users page (`/`, 21 users)": "users", f"user page (`/users/{USER}`, 50 memories in 4 lists)": "user",
                   "user page, next page of facts": "user2", "search page (`/users/…/search?q=`, 10 hits)": "search",
                   "thread page (40 turns, 80 messages)": "thread", "stats page (reads all memories)": "stats"}.get(name)
            if key:
                s = percentiles(server[key][-(stats_rounds if key == "stats" else rounds):])
                rows.append([name, f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{t['p50']:.1f}"])
            else:
                rows.append([name, "", "", f"{t['p50']:.1f}"])
        service.flush()
    return rows, {"search": percentiles(server["search"])["p50"], "user": percentiles(server["user"])["p50"]}


def minilm_query_ms() -> float | None:
    try:
        from langmem_ext.embeddings import MiniLMEmbeddings
    except ImportError:
        return None
    model = MiniLMEmbeddings()
    model.embed_query("warm up")
    samples = []
    for q in QUERIES * 5:
        t0 = time.perf_counter()
        model.embed_query(q)
        samples.append((time.perf_counter() - t0) * 1000)
    return sorted(samples)[len(samples) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    server = None if url else EmbeddedRedis().start()
    url = url or server.url  # type: ignore[union-attr]
    try:
        rows, p50 = bench(url, args.n, args.rounds)
        embed_ms = minilm_query_ms()
        met = lambda ok: "met" if ok else "missed"  # noqa: E731
        text = "\n".join([
            "## Memory browser (`benchmarks/ui.py`)",
            "",
            machine_line(url) + " The machine was shared with other engineers' test runs while this ran.",
            "",
            f"One user with {args.n:,} memories (60 % current facts, 10 % closed, 25 % episodes, 5 % rules, each with "
            "a two-entry change history) and 20 other users with 50 each, in our `RedisStore`; a 40-turn thread in our "
            "`RedisSaver`. The app `langmem-ext ui` serves, driven in-process over ASGI. **Server time** is the app's "
            "own `Server-Timing` (request in to response out: access guard, service calls, rendering). The service "
            "rows time the same calls without the web layer, in the same interleaved rounds "
            f"({args.rounds} rounds; the stats rows {max(5, args.rounds // 10)}). No peer ships an offline memory "
            "viewer to compare with, so the floor is our own service layer. Embedding excluded (cached vectors).",
            "",
            table(["request", "server p50 ms", "server p95 ms", "wall p50 ms (client incl.)"], rows),
            "",
            f"Targets (issue #16): user page ≤ 200 ms server time at {args.n:,} memories: "
            f"{met(p50['user'] <= 200)} ({p50['user']:.1f} ms); search ≤ 20 ms server time: "
            f"{met(p50['search'] <= 20)} ({p50['search']:.1f} ms, query embedding excluded)."
            + (f" A real search adds the MiniLM query embedding: {embed_ms:.1f} ms p50 on this machine (one thread)."
               if embed_ms is not None else ""),
            "",
            "The stats page reads every memory of the user to compute its distributions and the forgetting "
            "forecast, so it grows with the user; it is a separate tab, not part of the user page.",
        ])
        print(text)
        if not args.no_write:
            write_section("ui", text)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
