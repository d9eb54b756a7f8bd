"""The MCP server over stdio, as a desktop app or an editor starts it: one user, the whole round trip."""

from __future__ import annotations

import json

from tests.mcp._harness import error_text, ok, stdio_session


async def test_round_trip_over_stdio(redis_url: str) -> None:
    async with stdio_session(redis_url, "maya") as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {"search_memories", "recall_context", "add_memory", "update_memory", "delete_memory",
                         "list_memories", "reflect", "forget_me"}
        for tool in (await session.list_tools()).tools:
            assert tool.description and len(tool.description) > 60 and tool.input_schema["type"] == "object"
            assert tool.output_schema is not None  # structured results

        added = ok(await session.call_tool("add_memory", {"kind": "semantic", "content": "Maya lives in Porto",
                                                          "importance": 7}))["memory"]
        ok(await session.call_tool("add_memory", {"kind": "procedural", "content": "Answer in French",
                                                  "fields": {"scope": "language"}}))
        found = await session.call_tool("search_memories", {"query": "Where does Maya live?"})
        hits = ok(found)["results"]
        assert hits[0]["memory"]["id"] == added["id"] and set(hits[0]["score"]) >= {"relevance", "recency", "importance", "strength"}
        # For clients that read only text: the same result as one line of compact JSON.
        (text,) = found.content
        assert json.loads(text.text) == found.structured_content and "\n" not in text.text and '", "' not in text.text

        updated = ok(await session.call_tool("update_memory", {"id": added["id"], "content": "Maya lives in Lisbon",
                                                               "reason": "she moved"}))
        assert updated["changed"] and updated["memory"]["version"] == 2
        assert [(h["op"], h["old"], h["reason"]) for h in updated["memory"]["history"]] == [
            ("insert", None, "added over MCP"), ("update", "Maya lives in Porto", "she moved")]

        page = ok(await session.call_tool("list_memories", {"limit": 1}))
        rest = ok(await session.call_tool("list_memories", {"limit": 10, "cursor": page["next_cursor"]}))
        assert len(page["memories"]) + len(rest["memories"]) == 2 and rest["next_cursor"] is None

        block = ok(await session.call_tool("recall_context", {"query": "Where does Maya live?"}))
        assert "Maya lives in Lisbon" in block["text"] and "<user_rules>" in block["text"] and "Answer in French" in block["text"]

        deleted = ok(await session.call_tool("delete_memory", {"id": added["id"]}))
        assert deleted["deleted"]["id"] == added["id"]
        assert "No memory" in error_text(await session.call_tool("delete_memory", {"id": added["id"]}))
        assert "Lisbon" not in ok(await session.call_tool("recall_context", {"query": "Where does Maya live?"}))["text"]

        reflected = ok(await session.call_tool("reflect", {"messages": [
            {"role": "user", "content": "I adopted a cat called Miso last week.", "id": "t1"},
            {"role": "assistant", "content": "Congratulations!", "id": "t2"}], "thread_id": "chat-7"}))
        assert reflected["offline"] and reflected["messages"] == 2 and reflected["inserted"]
        assert "Miso" in ok(await session.call_tool("recall_context", {"messages": [
            {"role": "user", "content": "What is my cat called?"}]}))["text"]

        ok(await session.call_tool("add_memory", {"kind": "semantic", "content": "Maya's cat Miso is black"}))
        rules = await session.read_resource("memories://me/rules")
        assert "Answer in French" in rules.contents[0].text
        facts = json.loads((await session.read_resource("memories://me/facts")).contents[0].text)
        assert facts[0]["content"] == "Maya's cat Miso is black" and {f["kind"] for f in facts} == {"semantic"}
        prompt = await session.get_prompt("user_rules", {"base": "You are terse."})
        assert "You are terse." in prompt.messages[0].content.text and "Answer in French" in prompt.messages[0].content.text

        assert "confirm=true" in error_text(await session.call_tool("forget_me", {"confirm": False}))
        forgot = ok(await session.call_tool("forget_me", {"confirm": True}))
        assert forgot["remaining"] == 0 and forgot["verified_by"] == "SCAN" and forgot["deleted"] >= 3
        assert ok(await session.call_tool("list_memories", {}))["memories"] == []


async def test_bad_arguments_are_tool_errors_and_nothing_is_written(redis_url: str) -> None:
    async with stdio_session(redis_url, "maya") as session:
        cases = [
            ("add_memory", {"kind": "wishes", "content": "x"}, "kind"),
            ("add_memory", {"kind": "semantic", "content": "x", "fields": {"colour": "red"}}, "Unknown field 'colour'"),
            ("add_memory", {"kind": "semantic", "content": "word " * 1000}, "at most 4096 characters"),
            ("add_memory", {"kind": "semantic", "content": "日本" * 1500}, "memory_bytes"),  # 3,000 characters, 9,000 bytes
            ("add_memory", {"kind": "semantic", "content": "x", "importance": 11}, "importance"),
            ("update_memory", {"id": "no-such-id", "content": "x"}, "No memory 'no-such-id'"),
            ("list_memories", {"cursor": "garbage"}, "Bad cursor"),
            ("recall_context", {}, "either query"),
            ("recall_context", {"query": "x", "max_tokens": 5}, "max_tokens"),
            ("reflect", {"messages": []}, "messages"),
            ("search_memories", {"query": "x", "limit": 0}, "limit"),
        ]
        for tool, args, message in cases:
            text = error_text(await session.call_tool(tool, args))
            assert message in text and "Traceback" not in text, (tool, text)
        assert ok(await session.call_tool("list_memories", {}))["memories"] == []


async def test_the_stdio_user_comes_from_the_environment(redis_url: str) -> None:
    async with stdio_session(redis_url, None, env={"LANGMEM_EXT_USER": "omar"}) as session:
        added = ok(await session.call_tool("add_memory", {"kind": "semantic", "content": "Omar lives in Cairo"}))
        assert added["memory"]["user_id"] == "omar"


async def test_reflect_uses_the_configured_model(redis_url: str, fake_openai) -> None:
    """With a memory model configured, reflect calls it over HTTP (langchain-openai, JSON schema), not the extractor."""
    from langmem_ext.llm.testing import Reply

    fake_openai.script(Reply.structured({"operations": [
        {"op": "insert", "kind": "semantic", "target": "", "content": "User plays the viola in an orchestra", "importance": 6},
    ]}))
    env = {"OPENAI_BASE_URL": fake_openai.url, "OPENAI_API_KEY": "test", "LANGMEM_EXT_MEMORY_MODEL": "fake-model",
           "LANGMEM_EXT_CHAT_MODEL": "fake-model", "LANGMEM_EXT_OFFLINE": ""}
    async with stdio_session(redis_url, "maya", env=env) as session:
        outcome = ok(await session.call_tool("reflect", {"messages": [
            {"role": "user", "content": "I play the viola in an orchestra.", "id": "v1"}]}))
        assert not outcome["offline"] and [m["content"] for m in outcome["inserted"]] == ["User plays the viola in an orchestra"]
    assert fake_openai.requests and fake_openai.invalid == []
