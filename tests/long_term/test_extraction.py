"""The model-facing reflection schema: slim, strict-mode valid, validated per operation, grounded."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langmem_ext.llm.structured import for_endpoint, strict_problems
from langmem_ext.long_term.extraction import (
    MAX_CONTENT,
    grounding,
    read_operations,
    reflection_json_schema,
    stored_block,
    to_operations,
)
from langmem_ext.long_term.schemas import SemanticMemory

WHEN = "2026-03-02T10:00:00+00:00"


def test_the_schema_asks_only_for_content_and_is_strict_mode_valid() -> None:
    schema = reflection_json_schema(["semantic", "episodic", "procedural"], max_operations=5)
    item = schema["properties"]["operations"]["items"]
    assert set(item["properties"]) == {"op", "kind", "target", "content", "importance"}
    assert schema["properties"]["operations"]["maxItems"] == 5
    assert item["properties"]["content"]["maxLength"] == MAX_CONTENT
    assert item["properties"]["importance"]["minimum"] == 1 and item["properties"]["importance"]["maximum"] == 10
    openai = for_endpoint(schema, is_openai=True)
    assert strict_problems(openai) == []
    assert "maxLength" not in str(openai) and "At most 300 characters" in str(openai)
    assert strict_problems(schema) == ["$.operations[].target: keyword 'maxLength' is not allowed in strict mode",
                                       "$.operations[].content: keyword 'maxLength' is not allowed in strict mode"]


def test_no_model_written_bookkeeping() -> None:
    text = str(reflection_json_schema(["semantic"]))
    for field in ("source_ids", "valid_from", "valid_to", "confidence", "created_at", "default", "format"):
        assert field not in text


def test_one_bad_operation_drops_only_itself() -> None:
    known = {"uuid-1": (("m",), SemanticMemory(id="uuid-1", content="User lives in Paris"))}
    ops = read_operations({"operations": [
        {"op": "close", "kind": "semantic", "target": "m1", "content": "", "importance": 5},
        {"op": "insert", "kind": "semantic", "target": "", "content": "User lives in Lisbon", "importance": 2.6},
        {"op": "insert", "kind": "semantic", "target": "", "content": "", "importance": 5},        # no content
        {"op": "explode", "kind": "semantic", "target": "", "content": "x", "importance": 5},      # unknown op
        {"op": "delete", "kind": "semantic", "target": "m7", "content": "", "importance": 5},      # invented id
        {"op": "insert", "kind": "dream", "target": "", "content": "x", "importance": 5},          # unknown kind
        {"op": "insert", "kind": "semantic", "target": "", "content": "y" * 900, "importance": "high"},
        "not an object",
    ]}, kinds=["semantic"], aliases={"m1": "uuid-1"}, known=known)
    assert [(o.op, o.target, o.importance) for o in ops] == [("close", "uuid-1", 5), ("insert", "", 3), ("insert", "", 5)]
    assert len(ops[2].content) == MAX_CONTENT


def test_confidence_two_and_friends_no_longer_reject_the_batch() -> None:
    """The issue's batch: one output broke the schema (confidence=2) and 20 errors rejected everything."""
    ops = read_operations([{"action": "insert", "kind": "semantic", "memory": {"content": "User likes tea", "confidence": 2},
                            "importance": 99}], kinds=["semantic"], aliases={})
    assert [(o.content, o.importance) for o in ops] == [("User likes tea", 10)]


def test_nothing_valid_at_all_is_an_error_for_the_one_repair() -> None:
    with pytest.raises(ValueError, match="none of the 1"):
        read_operations({"operations": [{"op": "insert"}]}, kinds=["semantic"], aliases={})
    with pytest.raises(ValueError, match="operations"):
        read_operations("I think the user likes tea", kinds=["semantic"], aliases={})
    assert read_operations({"operations": []}, kinds=["semantic"], aliases={}) == []


def test_ids_dates_and_sources_come_from_the_messages_and_the_clock() -> None:
    new = [HumanMessage("I'm flying to Tokyo tomorrow.", id="h1", additional_kwargs={"timestamp": WHEN}),
           AIMessage("Have a great trip!", id="a1")]
    ops = read_operations({"operations": [
        {"op": "insert", "kind": "semantic", "target": "", "content": "User is flying to Tokyo tomorrow", "importance": 6},
        {"op": "insert", "kind": "episodic", "target": "", "content": "User said they are flying to Tokyo tomorrow",
         "importance": 4},
    ]}, kinds=["semantic", "episodic"], aliases={})
    semantic, episodic = to_operations(ops, new, known={}, aliases={}, now=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert semantic["memory"]["content"] == "User is flying to Tokyo tomorrow (2026-03-03)"
    assert semantic["memory"]["source_ids"] == ["h1"] and semantic["memory"]["valid_from"] == WHEN
    assert episodic["memory"]["occurred_at"] == WHEN and episodic["memory"]["source_ids"] == ["h1"]
    assert "id" not in semantic["memory"] and "valid_to" not in semantic["memory"]


def test_assistant_identity_claims_never_become_user_facts() -> None:
    new = [HumanMessage("hello, can you translate something?", id="h1"),
           AIMessage("I am Sam, the Japanese language translator from Osaka.", id="a1"),
           ToolMessage("User profile: Sam, translator", tool_call_id="t1", id="t1")]
    ops = read_operations({"operations": [
        {"op": "insert", "kind": "semantic", "target": "", "content": "I am Sam, the Japanese language translator",
         "importance": 8},
        {"op": "insert", "kind": "semantic", "target": "", "content": "User is a translator from Osaka", "importance": 8},
        {"op": "insert", "kind": "episodic", "target": "", "content": "Sam the translator introduced himself",
         "importance": 3},
    ]}, kinds=["semantic", "episodic"], aliases={})
    assert to_operations(ops, new, known={}, aliases={}) == []


def test_an_update_must_be_grounded_too() -> None:
    known = {"u1": (("m",), SemanticMemory(id="u1", content="User lives in Paris"))}
    new = [HumanMessage("What's the weather?", id="h1"), AIMessage("I live in Berlin myself.", id="a1")]
    ops = read_operations([{"op": "update", "kind": "semantic", "target": "m1", "content": "User lives in Berlin",
                            "importance": 5}], kinds=["semantic"], aliases={"m1": "u1"}, known=known)
    assert to_operations(ops, new, known=known, aliases={"m1": "u1"}) == []


def test_rules_keep_the_users_sentence_as_their_source() -> None:
    new = [HumanMessage("Thanks. From now on, answer in French please.", id="h1")]
    ops = read_operations([{"op": "insert", "kind": "procedural", "target": "", "content": "Answer in French",
                            "importance": 7}], kinds=["procedural"], aliases={})
    (rule,) = to_operations(ops, new, known={}, aliases={})
    assert rule["memory"]["rule"] == "Answer in French" and rule["memory"]["source"] == "From now on, answer in French please."


def test_stored_memories_are_shown_with_short_aliases() -> None:
    memory = SemanticMemory(content="User lives in Paris")
    text, aliases = stored_block({memory.id: (("m",), memory)})
    assert text.startswith("m1 [semantic]") and memory.id not in text and aliases == {"m1": memory.id}


def test_grounding_ignores_the_subject_and_word_forms() -> None:
    said = [HumanMessage("My sister Maria moved to Porto last year.", id="h")]
    assert grounding("User's sister Maria lives in Porto", said, kind="semantic")
    assert not grounding("User's brother Tom lives in Rome", said, kind="semantic")


def _stored(*contents: str) -> tuple[dict[str, tuple[tuple[str, ...], SemanticMemory]], dict[str, str]]:
    known = {f"u{i}": (("m",), SemanticMemory(id=f"u{i}", content=c)) for i, c in enumerate(contents, 1)}
    return known, {f"m{i}": f"u{i}" for i in range(1, len(contents) + 1)}


def test_a_close_or_delete_the_user_did_not_ask_for_is_dropped() -> None:
    """SmolLM2-135M, in make test-llm's demo, deleted "User is vegetarian" and "User has a dog
    called Pixel" on turns that were about neither; nothing the user said may be erased that way."""
    known, aliases = _stored("User is vegetarian", "User has a dog called Pixel")
    new = [HumanMessage("What is my dog called?", id="h1"), AIMessage("Bella!", id="a1")]
    ops = read_operations([{"op": "delete", "kind": "semantic", "target": "m1", "content": "", "importance": 5},
                           {"op": "close", "kind": "semantic", "target": "m2", "content": "", "importance": 5}],
                          kinds=["semantic"], aliases=aliases, known=known)
    assert len(ops) == 2  # valid operations, as the model wrote them
    assert to_operations(ops, new, known=known, aliases=aliases) == []


def test_the_user_retracting_or_replacing_a_memory_lets_it_close() -> None:
    known, aliases = _stored("User lives in Lisbon", "User is learning to play the cello", "User works at Acme")
    new = [HumanMessage("Actually I live in Porto now, not Lisbon. I stopped the cello lessons.", id="h1"),
           HumanMessage("I work at Globex.", id="h2")]
    ops = read_operations([
        {"op": "close", "kind": "semantic", "target": "m1", "content": "", "importance": 5},  # retracted by name
        {"op": "delete", "kind": "semantic", "target": "m2", "content": "", "importance": 5},  # "stopped ... cello"
        {"op": "close", "kind": "semantic", "target": "m3", "content": "", "importance": 5},  # replaced below
        {"op": "insert", "kind": "semantic", "target": "", "content": "User works at Globex", "importance": 6},
    ], kinds=["semantic"], aliases=aliases, known=known)
    out = to_operations(ops, new, known=known, aliases=aliases)
    assert [(o["action"], o.get("id")) for o in out] == [("close", "u1"), ("delete", "u2"), ("close", "u3"),
                                                       ("insert", None)]


def test_a_new_like_does_not_replace_an_old_one() -> None:
    known, aliases = _stored("User likes green tea")
    new = [HumanMessage("I like hiking in the hills.", id="h1")]
    ops = read_operations([
        {"op": "close", "kind": "semantic", "target": "m1", "content": "", "importance": 5},
        {"op": "insert", "kind": "semantic", "target": "", "content": "User likes hiking in the hills", "importance": 5},
    ], kinds=["semantic"], aliases=aliases, known=known)
    assert [o["action"] for o in to_operations(ops, new, known=known, aliases=aliases)] == ["insert"]


def test_an_update_must_stay_about_the_same_thing() -> None:
    known, aliases = _stored("User is vegetarian", "User lives in Lisbon", "User works at Acme")
    new = [HumanMessage("I like hiking. I live in Lisbon, in Alfama now. I work at Globex.", id="h1")]
    ops = read_operations([
        {"op": "update", "kind": "semantic", "target": "m1", "content": "User likes hiking", "importance": 5},
        {"op": "update", "kind": "semantic", "target": "m2", "content": "User lives in Alfama, Lisbon", "importance": 5},
        {"op": "update", "kind": "semantic", "target": "m3", "content": "User works at Globex", "importance": 5},
    ], kinds=["semantic"], aliases=aliases, known=known)
    assert [(o["action"], o["id"]) for o in to_operations(ops, new, known=known, aliases=aliases)] == [
        ("update", "u2"), ("update", "u3")]  # a new employer is the same relation; hiking is not a diet


def test_only_a_kept_write_can_justify_a_close() -> None:
    """An update dropped for drifting (vegetarian -> a city) does not count as the replacement of
    the stored city it would otherwise match."""
    known, aliases = _stored("User is vegetarian", "User lives in Lisbon")
    new = [HumanMessage("I live in Porto.", id="h1")]
    ops = read_operations([
        {"op": "update", "kind": "semantic", "target": "m1", "content": "User lives in Porto", "importance": 5},
        {"op": "close", "kind": "semantic", "target": "m2", "content": "", "importance": 5},
    ], kinds=["semantic"], aliases=aliases, known=known)
    assert to_operations(ops, new, known=known, aliases=aliases) == []
