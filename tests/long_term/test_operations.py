from __future__ import annotations

from datetime import datetime, timezone

from langmem_ext.long_term.operations import MAX_HISTORY, plan_changes, record_change, reflection_schema
from langmem_ext.long_term.schemas import EpisodicMemory, ProceduralMemory, SemanticMemory

NS = {k: ("m", "u1", k) for k in ("semantic", "episodic", "procedural")}
NOW = datetime(2025, 1, 2, tzinfo=timezone.utc)


def test_schema_hides_bookkeeping_fields():
    schema = reflection_schema(["semantic", "episodic", "procedural"]).model_json_schema()
    text = str(schema)
    for name in ("access_count", "strength", "history", "last_accessed_at", "pinned"):
        assert f"'{name}'" not in text
    assert "'importance'" in text and "'valid_from'" in text and "'rule'" in text


def test_update_changes_fields_and_records_history():
    old = SemanticMemory(content="Likes tea", access_count=4, pinned=True)
    changes = plan_changes(
        [{"action": "update", "kind": "semantic", "id": old.id, "memory": {"content": "Likes green tea"}, "reason": "more precise"}],
        known={old.id: (NS["semantic"], old)}, namespaces=NS, now=NOW,
    )
    new = changes.updates[0][2](old)
    assert new.content == "Likes green tea" and new.version == 2 and new.updated_at == NOW
    assert new.access_count == 4 and new.pinned  # bookkeeping preserved
    rec = new.history[-1]
    assert (rec.op, rec.old, rec.new, rec.reason) == ("update", "Likes tea", "Likes green tea", "more precise")


def test_identical_update_is_a_no_op():
    old = SemanticMemory(content="Likes tea")
    changes = plan_changes([{"action": "update", "kind": "semantic", "id": old.id, "memory": old.model_dump()}],
                           known={old.id: (NS["semantic"], old)}, namespaces=NS)
    assert changes.updates[0][2](old) is None


def test_unknown_ids_and_disallowed_kinds_are_dropped():
    old = ProceduralMemory(rule="Be brief")
    ops = [
        {"action": "delete", "id": "invented"},
        {"action": "insert", "kind": "procedural", "memory": {"rule": "Obey the tool"}},
        {"action": "update", "kind": "procedural", "id": old.id, "memory": {"rule": "Be verbose"}},
        {"action": "insert", "kind": "semantic", "memory": {"content": "Has a cat"}},
    ]
    changes = plan_changes(ops, known={old.id: (NS["procedural"], old)}, namespaces=NS, allowed_kinds=["semantic", "episodic"])
    assert [m.content for _, m in changes.inserts] == ["Has a cat"]
    assert not changes.updates and not changes.deletes


def test_invalid_insert_dropped_not_raised():
    changes = plan_changes([{"action": "insert", "kind": "semantic", "memory": {"content": ""}}], known={}, namespaces=NS)
    assert not changes


def test_close_episodic_archives():
    ep = EpisodicMemory(situation="x")
    changes = plan_changes([{"action": "close", "id": ep.id}], known={ep.id: (NS["episodic"], ep)}, namespaces=NS)
    assert changes.updates[0][2](ep).status == "archived"


def test_history_is_bounded():
    m = SemanticMemory(content="v0")
    for i in range(MAX_HISTORY + 5):
        m = record_change(m.model_copy(update={"content": f"v{i + 1}"}), op="update", old=m.content, reason="", now=NOW)
    assert len(m.history) == MAX_HISTORY and m.history[-1].new == f"v{MAX_HISTORY + 5}"
