"""Export and import through the service: a backup that restores, an import checked whole."""

from __future__ import annotations

import json

import pytest

from langmem_ext.service import InvalidRequestError, LimitError, MemoryService


def _line(ns: list[str], key: str, value: dict) -> str:
    return json.dumps({"namespace": ns, "key": key, "value": value})


def test_export_then_import_restores_memories_and_bookkeeping(service: MemoryService) -> None:
    fact = service.add("maya", kind="semantic", content="Maya has a dog called Pixel").memory
    service.add("maya", kind="procedural", content="Answer briefly")
    service.reflect("maya", [{"role": "user", "content": "I play the cello.", "id": "c1"}])
    exported = service.export("maya")
    lines = exported.lines()
    assert len(lines) == exported.memories + exported.internal and exported.internal >= 1
    service.forget_user("maya")
    report = service.import_lines(lines, source="maya.jsonl")
    assert (report.memories, report.internal, report.users, report.filled) == (exported.memories, exported.internal, ["maya"], [])
    assert service.show("maya", fact.id).history[0].op == "insert"
    assert service.search("maya", "dog Pixel")[0].memory.id == fact.id  # embedded again
    assert service.reflect("maya", [{"role": "user", "content": "I play the cello.", "id": "c1"}]).skipped  # cursor restored


def test_import_fills_in_a_bare_memory_and_recall_finds_it(service: MemoryService) -> None:
    report = service.import_lines([
        _line(["memories", "zoe", "semantic"], "j1", {"content": "Zoe likes jazz"}),
        _line(["memories", "zoe", "procedural"], "r1", {"content": "Always answer in Portuguese"}),
    ])
    assert [f.line for f in report.filled] == [1, 2]
    assert {"kind", "id", "importance"} <= set(report.filled[0].fields) and "rule" in report.filled[1].fields
    shown = service.show("zoe", "j1")
    assert shown.kind == "semantic" and shown.importance == 5 and shown.status == "active"
    assert "Zoe likes jazz" in service.recall_context("zoe", query="What music does Zoe like?").text
    assert "Always answer in Portuguese" in service.rules_prompt("zoe")


@pytest.mark.parametrize(("line", "problem"), [
    ("not json", "is not JSON"),
    ("[1, 2]", "not a JSON object"),
    (_line(["other", "zoe", "semantic"], "k", {"content": "x"}), "is not memories/<user>/<kind>"),
    (_line(["memories", "zoe"], "k", {"content": "x"}), "is not memories/<user>/<kind>"),
    (_line(["memories", "zoe", "wishes"], "k", {"content": "x"}), "unknown label 'wishes'"),
    (_line(["memories", "zoe", "semantic"], "k", {"subject": "user"}), "needs its text"),
    (_line(["memories", "zoe", "semantic"], "k", {"kind": "episodic", "content": "x"}), "in the 'semantic' namespace"),
    (_line(["memories", "zoe", "semantic"], "k", {"id": "other", "content": "x"}), "differs from key"),
    (_line(["memories", "zoe", "semantic"], "k", {"content": "x", "importance": 99}), "importance"),
    (_line(["memories", "a.b", "semantic"], "k", {"content": "x"}), "Bad user id"),
])
def test_a_bad_line_is_named_and_nothing_is_written(service: MemoryService, line: str, problem: str) -> None:
    good = _line(["memories", "zoe", "semantic"], "good", {"content": "Zoe likes tea"})
    with pytest.raises(InvalidRequestError) as info:
        service.import_lines([good, "", line], source="f.jsonl")
    assert "f.jsonl:3" in str(info.value) and problem in str(info.value) and "nothing was imported" in str(info.value)
    assert service.list_users() == []


def test_import_limits_duplicates_and_user_restriction(service: MemoryService) -> None:
    good = _line(["memories", "zoe", "semantic"], "k1", {"content": "Zoe likes tea"})
    with pytest.raises(LimitError, match="input:1"):
        service.import_lines([_line(["memories", "zoe", "semantic"], "k", {"content": "w " * 3000})])
    with pytest.raises(InvalidRequestError, match="repeats .* line 1"):
        service.import_lines([good, good])
    with pytest.raises(InvalidRequestError, match="for 'maya' only"):
        service.import_lines([good], user_id="maya")
    assert service.import_lines([]).memories == 0
    assert service.list_users() == []
