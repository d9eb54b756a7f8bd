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
every timing but two search rows, where the query is embedded by the offline MiniLM
model inside the request (a new query each time, and a repeated one from the query cache).
Rows marked *before* run the previous implementation of counting and stats in the same
rounds, on the same data.

Run: ``.venv/bin/python benchmarks/ui.py [--n 10000 --rounds 100 --section ui]``.
Writes the ``ui`` section of docs/benchmarks.md (``--section`` for another, e.g. a
100,000-memory run). Targets (issue #16): the user page ≤ 200 ms server time at 10,000
memories; search ≤ 20 ms server time.
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

from langchain_core.embeddings import Embeddings  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langgraph.store.base import PutOp  # noqa: E402

from benchmarks._report import interleaved, load_note, machine_line, table, write_section  # noqa: E402
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


class MiniLMQueries(Embeddings):
    """Documents get the cached deterministic vectors; queries the real MiniLM forward pass.

    The index holds the cached vectors, so the ranking is meaningless; the timing is the
    honest one: what a search costs when its query is embedded by the offline model.
    """

    def __init__(self, docs: CachedEmbeddings, *, query_cache: int) -> None:
        from langmem_ext.embeddings import MiniLMEmbeddings

        self.docs, self.model = docs, MiniLMEmbeddings(query_cache=query_cache)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.docs(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.docs(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return await self.model.aembed_query(text)


def previous_count(store: Any, prefix: tuple[str, ...]) -> Any:
    """The first ``count_namespaces``: one FT.AGGREGATE that loads two fields of every item under ``prefix``."""
    from langmem_ext.store import _keys as K

    query = "@r:{1}" + (f" @p:{{{K.prefix_tokens(prefix)[-1]}}}" if prefix else "")
    return store._client.execute_command(
        "FT.AGGREGATE", store._idx, query, "LOAD", "2", "@ns", "@u", "GROUPBY", "1", "@ns", "REDUCE", "COUNT", "0",
        "AS", "n", "REDUCE", "MAX", "1", "@u", "AS", "last", "LIMIT", "0", "1000000", "DIALECT", "2")


def bench(url: str, n: int, rounds: int, *, minilm: bool) -> tuple[list[list[Any]], dict[str, float]]:
    from starlette.testclient import TestClient

    from langmem_ext.checkpoint import RedisSaver
    from langmem_ext.service import MemoryService
    from langmem_ext.service._drive import run_sync
    from langmem_ext.store import RedisStore
    from langmem_ext.ui import create_app, routes

    embed = CachedEmbeddings()
    embed(QUERIES)
    index = {"dims": DIMS, "embed": embed, "fields": ["content"]}
    token = "b" * 43
    with RedisStore.from_conn_string(url, index=index) as store, RedisSaver.from_conn_string(url) as saver:  # type: ignore[arg-type]
        saver.setup()
        t0 = time.perf_counter()
        seed(store, saver, n)
        print(f"seeded {n:,} + 1,000 memories and a 40-turn thread in {time.perf_counter() - t0:.1f} s", flush=True)
        service = MemoryService(store)
        clients = {"cached": TestClient(create_app(saver=saver, service=service, token=token), base_url="http://127.0.0.1:7600")}
        if minilm:  # the same index, queries embedded by MiniLM: every time (no cache), or once (the LRU)
            for name, size in (("minilm", 0), ("minilm-lru", 256)):
                other = RedisStore(store._client, index={**index, "embed": MiniLMQueries(embed, query_cache=size)})
                clients[name] = TestClient(create_app(saver=saver, service=MemoryService(other), token=token),
                                           base_url="http://127.0.0.1:7600")
        for c in clients.values():
            c.get("/?token=" + token)
        server: dict[str, list[float]] = {}

        def page(name: str, path: Any, client: str = "cached") -> Any:
            def run(i: int) -> None:
                server.setdefault(name, []).append(server_ms(clients[client].get(path(i) if callable(path) else path)))
            return run

        def user_calls(i: int) -> None:
            routes.user_page_data(service, USER, dict.fromkeys(("facts", "closed", "episodes", "rules")))

        def search_path(i: int) -> str:
            return f"/users/{USER}/search?q={QUERIES[i % len(QUERIES)]}"

        first = service.list_memories(USER, kind="semantic", closed=False, limit=routes.PER_PAGE).next_cursor
        fns = {
            "users page (`/`, 21 users)": page("users page (`/`, 21 users)", "/"),
            "users: service.list_users": lambda i: service.list_users(limit=101),
            "users, before: FT.AGGREGATE LOAD @ns GROUPBY @ns over all items": lambda i: previous_count(store, ("memories",)),
            "user page (`/users/bench-user`, counts + 50 memories in 4 lists)": page("user", f"/users/{USER}"),
            "user: its 5 service calls": user_calls,
            "user: service.user_summary (counts per kind)": lambda i: service.user_summary(USER),
            "user counts, before: FT.AGGREGATE LOAD @ns GROUPBY @ns over the user's items":
                lambda i: previous_count(store, ("memories", USER)),
            "user page, next page of facts": page("user page, next page of facts", f"/users/{USER}?facts={first}"),
            "search page, query embedding excluded (cached vectors)": page("search", search_path),
            "search: service.search, embedding excluded": lambda i: service.search(
                USER, QUERIES[i % len(QUERIES)], limit=routes.SEARCH_HITS),
            "thread page (40 turns, 80 messages)": page("thread page (40 turns, 80 messages)", f"/users/{USER}/threads/bench-thread"),
        }
        if minilm:
            fns["search page, MiniLM query embedding, a new query (forward pass)"] = page("search-minilm", search_path, "minilm")
            fns["search page, MiniLM query embedding, a repeated query (query cache)"] = page(
                "search-minilm-lru", search_path, "minilm-lru")
        stats_rounds = max(5, rounds // 10)
        timed = interleaved(fns, rounds=rounds, warmup=8)
        timed.update(interleaved({
            "stats page": page("stats page", f"/users/{USER}/stats"),
            "stats: service.stats (numbers per memory, no values)": lambda i: service.stats(USER),
        }, rounds=stats_rounds, warmup=1))
        # Apart: the millions of objects a full read allocates make the call after it pay for garbage collection.
        timed.update(interleaved({"stats, before: reading every memory": lambda i: run_sync(store, service._stats_read_all(USER))},
                                 rounds=stats_rounds, warmup=1))
        from benchmarks._report import percentiles

        keys = {"users page (`/`, 21 users)": "users page (`/`, 21 users)",
                "user page (`/users/bench-user`, counts + 50 memories in 4 lists)": "user",
                "user page, next page of facts": "user page, next page of facts",
                "search page, query embedding excluded (cached vectors)": "search",
                "search page, MiniLM query embedding, a new query (forward pass)": "search-minilm",
                "search page, MiniLM query embedding, a repeated query (query cache)": "search-minilm-lru",
                "thread page (40 turns, 80 messages)": "thread page (40 turns, 80 messages)", "stats page": "stats page"}
        rows, p50 = [], {}
        for name, t in timed.items():
            key = keys.get(name)
            if key:
                s = percentiles(server[key][-(stats_rounds if key == "stats page" else rounds):])
                p50[key] = s["p50"]
                rows.append([name, f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{t['p50']:.1f}"])
            else:
                rows.append([name, "", "", f"{t['p50']:.1f}"])
        service.flush()
    return rows, p50


def minilm_query_ms() -> float | None:
    try:
        from langmem_ext.embeddings import MiniLMEmbeddings
    except ImportError:
        return None
    model = MiniLMEmbeddings(query_cache=0)  # every call runs the forward pass
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
    parser.add_argument("--section", default="ui", help="the section of docs/benchmarks.md to write")
    parser.add_argument("--no-minilm", action="store_true", help="skip the rows that embed queries with MiniLM")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    server = None if url else EmbeddedRedis().start()
    url = url or server.url  # type: ignore[union-attr]
    try:
        load_before = os.getloadavg()
        embed_ms = None if args.no_minilm else minilm_query_ms()
        rows, p50 = bench(url, args.n, args.rounds, minilm=embed_ms is not None)
        load_after = os.getloadavg()
        met = lambda ok: "met" if ok else "missed"  # noqa: E731
        search_real = p50.get("search-minilm")
        text = "\n".join([
            f"## Memory browser (`benchmarks/ui.py`{', --n ' + format(args.n, ',') if args.n != 10000 else ''})",
            "",
            machine_line(url) + " " + load_note(load_before[0], load_after[0]),
            "",
            f"One user with {args.n:,} memories (60 % current facts, 10 % closed, 25 % episodes, 5 % rules, each with "
            "a two-entry change history) and 20 other users with 50 each, in our `RedisStore`; a 40-turn thread in our "
            "`RedisSaver`. The app `langmem-ext ui` serves, driven in-process over ASGI. **Server time** is the app's "
            "own `Server-Timing` (request in to response out: access guard, service calls, rendering). The service "
            "rows time the same calls without the web layer, in the same interleaved rounds "
            f"({args.rounds} rounds; the stats rows {max(5, args.rounds // 10)}). Rows marked *before* run what the "
            "code did until now (the first `count_namespaces` aggregation, in the same rounds; stats reading every "
            "memory, in rounds of its own right after, since the objects a full read allocates would make the next "
            "call pay for their garbage collection), so each change is measured against its predecessor on the same "
            "data. No peer ships an offline memory viewer to compare with, so the floor is our own service layer.",
            "",
            "Vectors are cached deterministic ones (embedding excluded) except in the two MiniLM search rows: there the "
            "query is embedded by the offline MiniLM model inside the request (the index holds the cached vectors, so "
            "only the timing is meaningful). *A new query* turns the query cache off, so every request runs the "
            "forward pass; *a repeated query* is a search re-run or paged through, answered from `MiniLMEmbeddings`' "
            "query cache (LRU of 256)."
            + (f" The forward pass alone, one short query: {embed_ms:.1f} ms p50 (one BLAS thread)." if embed_ms else ""),
            "",
            table(["request", "server p50 ms", "server p95 ms", "wall p50 ms (client incl.)"], rows),
            "",
            f"Targets (issue #16): user page ≤ 200 ms server time at {args.n:,} memories: "
            f"{met(p50['user'] <= 200)} ({p50['user']:.1f} ms); search ≤ 20 ms server time: "
            f"{met(p50['search'] <= 20)} with the query embedding excluded ({p50['search']:.1f} ms)"
            + (f", {met(search_real <= 20)} with a new query embedded by MiniLM ({search_real:.1f} ms), "
               f"{met(p50['search-minilm-lru'] <= 20)} for a repeated one ({p50['search-minilm-lru']:.1f} ms)."
               if search_real is not None else "."),
            "",
            "Counting asks the index per namespace (`FT.TAGVALS` of the namespace-prefix tokens, then one tag query "
            "per namespace) instead of loading a field of every item; the stats read a few numbers per memory "
            "(`RedisStore.numbers`: importance, pinned, strength, access count, and the date-times the store keeps "
            "beside each value as microseconds) instead of the memories, and only the memories the two lists show are "
            "read whole. Both still grow with the user (the index walks its items), but no value leaves Redis.",
        ])
        print(text)
        if not args.no_write:
            write_section(args.section, text)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
