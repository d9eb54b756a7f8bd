"""The MCP server over streamable HTTP with bearer tokens: auth, isolation, concurrency, shared memories.

One server for the module (see conftest.py); each test uses its own users.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx2
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.mcp._harness import TOKENS, error_text, http_session, ok

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def test_missing_and_wrong_tokens_are_refused(mcp_http) -> None:
    with httpx2.Client(timeout=30) as http:
        assert http.post(mcp_http.url, json=INIT, headers=HEADERS).status_code == 401
        wrong = http.post(mcp_http.url, json=INIT, headers={**HEADERS, "Authorization": "Bearer " + "x" * 40})
        assert wrong.status_code == 401 and "invalid_token" in wrong.text
        almost = TOKENS["maya"][:-1] + "X"
        assert http.post(mcp_http.url, json=INIT, headers={**HEADERS, "Authorization": f"Bearer {almost}"}).status_code == 401
        good = http.post(mcp_http.url, json=INIT, headers={**HEADERS, "Authorization": f"Bearer {TOKENS['maya']}"})
        assert good.status_code == 200

    async def sdk(token: str | None) -> None:
        async with http_session(mcp_http.url, token) as session:
            await session.call_tool("list_memories", {})

    for token in (None, "y" * 40):
        with pytest.raises(BaseException):
            asyncio.run(sdk(token))


def test_a_session_belongs_to_its_token(mcp_http) -> None:
    with httpx2.Client(timeout=30) as http:
        omar = {**HEADERS, "Authorization": f"Bearer {TOKENS['omar']}"}
        started = http.post(mcp_http.url, json=INIT, headers=omar)
        session_id = started.headers.get("mcp-session-id")
        assert started.status_code == 200 and session_id
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "list_memories", "arguments": {}}}
        stolen = http.post(mcp_http.url, json=call, headers={**HEADERS, "Authorization": f"Bearer {TOKENS['maya']}",
                                                             "mcp-session-id": session_id})
        assert stolen.status_code in (403, 404) and '"omar"' not in stolen.text


async def test_ids_resources_and_prompts_stay_with_their_user(mcp_http) -> None:
    async with http_session(mcp_http.url, TOKENS["omar"]) as omar:
        secret = ok(await omar.call_tool("add_memory", {"kind": "semantic", "content": "Omar's bank PIN hint is tulip"}))["memory"]
        ok(await omar.call_tool("add_memory", {"kind": "procedural", "content": "Always sign as O."}))
    async with http_session(mcp_http.url, TOKENS["maya"]) as maya:
        for tool, args in (("update_memory", {"id": secret["id"], "content": "hacked"}), ("delete_memory", {"id": secret["id"]})):
            assert "No memory" in error_text(await maya.call_tool(tool, args))
        assert ok(await maya.call_tool("search_memories", {"query": "Omar bank PIN tulip"}))["results"] == []
        assert "tulip" not in ok(await maya.call_tool("recall_context", {"query": "What is Omar's PIN hint?"}))["text"]
        with pytest.raises(Exception, match="only its own user"):
            await maya.read_resource("memories://omar/rules")
        assert "Always sign as O." not in (await maya.read_resource("memories://me/rules")).contents[0].text
        assert "Always sign as O." not in (await maya.get_prompt("user_rules", {})).messages[0].content.text
        ok(await maya.call_tool("forget_me", {"confirm": True}))
    async with http_session(mcp_http.url, TOKENS["omar"]) as omar:
        hits = ok(await omar.call_tool("search_memories", {"query": "bank PIN"}))["results"]
        assert hits[0]["memory"]["id"] == secret["id"] and hits[0]["memory"]["version"] == 1
        assert "Always sign as O." in (await omar.read_resource("memories://me/rules")).contents[0].text


# ------------------------------------------------------------------ 20 clients, 50 calls each

CLIENTS = [f"client-{i:02d}" for i in range(20)]
SYNTAX = ["*", "%", "@p:{x}", "-client", "a|b", '"quoted"', "\\", "(", ")", "{", "}", "~x", "@k:[1 2]", "*:*",
          "' OR 1=1", "../client-01", "memories/client-01/semantic", "$.content", "@ns:{memories}", "\x00", "😀", "..."]
crafted = st.one_of(st.sampled_from(SYNTAX), st.text(min_size=1, max_size=40),
                    st.lists(st.sampled_from(SYNTAX + ["marker", "likes"]), min_size=1, max_size=5).map(" ".join))
call = st.one_of(
    st.tuples(st.just("search"), crafted),
    st.tuples(st.just("recall"), crafted),
    st.tuples(st.just("list"), st.none()),
    st.tuples(st.just("steal"), st.integers(0, 19)),  # update/delete another client's real id
    st.tuples(st.just("delete"), crafted),
    st.tuples(st.just("add"), crafted),
)


def _marker(user: str) -> str:
    return f"mk{user[-2:]}zz"


def _seed(url: str) -> dict[str, list[str]]:
    async def seed(user: str) -> list[str]:
        async with http_session(url, TOKENS[user]) as session:
            ids = []
            for topic in ("sailing", "jazz", "tea"):
                r = ok(await session.call_tool("add_memory", {"kind": "semantic", "content": f"{_marker(user)} likes {topic}"}))
                ids.append(r["memory"]["id"])
            return ids

    async def main() -> dict[str, list[str]]:
        return dict(zip(CLIENTS, await asyncio.gather(*(seed(u) for u in CLIENTS))))

    return asyncio.run(main())


def _leaks(user: str, payload: object) -> list[str]:
    text = json.dumps(payload, ensure_ascii=False)
    others = [m for m in (_marker(u) for u in CLIENTS if u != user) if m in text]
    owners = set(re.findall(r'"user_id": "([^"]+)"', text)) - {user}
    return others + sorted(owners)


@pytest.fixture(scope="module")
def seeded(mcp_http) -> dict[str, list[str]]:
    return _seed(mcp_http.url)


@settings(max_examples=1, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                 HealthCheck.function_scoped_fixture])
@given(plans=st.lists(st.lists(call, min_size=50, max_size=50), min_size=20, max_size=20))
def test_twenty_concurrent_clients_never_see_each_other(mcp_http, seeded, plans) -> None:
    async def client(i: int, plan: list[tuple[str, object]]) -> list[str]:
        user, problems = CLIENTS[i], []
        async with http_session(mcp_http.url, TOKENS[user]) as session:
            for action, arg in plan:
                if action == "search":
                    r = await session.call_tool("search_memories", {"query": arg, "limit": 20})
                elif action == "recall":
                    r = await session.call_tool("recall_context", {"query": arg})
                elif action == "list":
                    r = await session.call_tool("list_memories", {"limit": 100})
                elif action == "add":
                    r = await session.call_tool("add_memory", {"kind": "episodic", "content": f"{_marker(user)} {arg}"})
                else:
                    target = seeded[CLIENTS[arg]][0] if action == "steal" else arg
                    tool = "delete_memory" if action == "delete" or i % 2 else "update_memory"
                    args = {"id": target} if tool == "delete_memory" else {"id": target, "content": "stolen"}
                    r = await session.call_tool(tool, args)
                    if action == "steal" and CLIENTS[arg] == user:
                        continue  # its own memory: deleting or editing it is allowed
                    if not r.is_error or "No memory" not in " ".join(c.text for c in r.content):
                        problems.append(f"{user} {tool}({target!r}) did not answer 'No memory': {r.content}")
                    continue
                if r.is_error:
                    problems.append(f"{user} {action}({arg!r}) failed: {r.content}")
                    continue
                problems += [f"{user} {action}({arg!r}) saw {leak}" for leak in _leaks(user, r.structured_content)]
        return problems

    async def main() -> list[str]:
        results = await asyncio.gather(*(client(i, plan) for i, plan in enumerate(plans)))
        return [p for ps in results for p in ps]

    problems = asyncio.run(main())
    assert problems == [], problems[:10]


def test_seeded_memories_survive_the_crafted_calls(mcp_http, seeded) -> None:
    async def count(user: str) -> int:
        async with http_session(mcp_http.url, TOKENS[user]) as session:
            page = ok(await session.call_tool("list_memories", {"kind": "semantic", "limit": 100}))
            return sum(1 for m in page["memories"] if m["id"] in seeded[user])

    async def main() -> list[int]:
        return await asyncio.gather(*(count(u) for u in CLIENTS))

    # each client's "steal" of its own id may have deleted or edited that one; the others' are untouched
    assert all(n >= 2 for n in asyncio.run(main()))


# ------------------------------------------------------------------ shared with LangGraph graphs


def test_graph_and_mcp_share_memories(mcp_http, redis_server: str) -> None:
    from langchain_core.messages import HumanMessage

    from langmem_ext.graphs.chatbot import build_graph, recalled_block, wait_for_reflection
    from langmem_ext.graphs.common import redis_backends, thread_config
    from langmem_ext.models import OfflineResponder

    with redis_backends(redis_server) as (saver, store):
        chatbot = build_graph(checkpointer=saver, store=store, model=OfflineResponder(), context_budget=800)
        chatbot.invoke({"messages": [HumanMessage("My daughter Lea is seven.")]}, thread_config("g1", user_id="ines"))
        wait_for_reflection(chatbot)

        async def over_mcp() -> tuple[list, dict]:
            async with http_session(mcp_http.url, TOKENS["ines"]) as ines:
                hits = ok(await ines.call_tool("search_memories", {"query": "How old is Lea?"}))["results"]
            async with http_session(mcp_http.url, TOKENS["noor"]) as noor:
                added = ok(await noor.call_tool("add_memory", {"kind": "semantic", "content": "Noor's favourite city is Kyoto"}))
            return hits, added

        hits, added = asyncio.run(over_mcp())
        assert any("seven" in h["memory"]["content"] for h in hits)  # written by the graph's ReflectionNode
        assert added["changed"]
        state = chatbot.invoke({"messages": [HumanMessage("What is my favourite city?")]}, thread_config("g2", user_id="noor"))
        assert "Kyoto" in recalled_block(state) and "Kyoto" in state["messages"][-1].content  # written over MCP
