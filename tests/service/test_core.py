"""MemoryService / AsyncMemoryService on InMemoryStore and the real Redis store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langmem_ext.long_term import RecallNode
from langmem_ext.long_term.schemas import utcnow
from langmem_ext.service import (
    InvalidRequestError,
    LimitError,
    MemoryNotFoundError,
    MemoryService,
    StoreUnavailableError,
)


def _ids(page) -> list[str]:
    return [m.id for m in page.memories]


def test_add_search_update_history_pin_delete(service: MemoryService) -> None:
    a = service.add("maya", kind="semantic", content="Maya lives in Porto", importance=7).memory
    service.add("maya", kind="semantic", content="Maya has a dog called Pixel")
    rule = service.add("maya", kind="procedural", content="Answer in French", fields={"scope": "language"}).memory
    assert rule.content == "[language] Answer in French" and rule.fields["rule"] == "Answer in French"
    hits = service.search("maya", "where does Maya live Porto")
    assert hits[0].memory.id == a.id
    s = hits[0].score
    assert 0 <= s.relevance <= 1 and 0 <= s.recency <= 1 and s.importance == pytest.approx(6 / 9) and 0 < s.strength <= 1
    w = s.weights
    assert s.total == pytest.approx((w["relevance"] * s.relevance + w["recency"] * s.recency + w["importance"] * s.importance
                                     + w["strength"] * s.strength) / sum(w.values()))
    assert [h.memory.kind for h in service.search("maya", "French", kinds=["procedural"])] == ["procedural"]

    edited = service.update("maya", a.id, content="Maya lives in Lisbon", reason="moved")
    assert edited.changed and edited.memory.version == 2
    shown = service.show("maya", a.id)
    assert [(h.op, h.old, h.new) for h in shown.history] == [
        ("insert", None, "Maya lives in Porto"), ("update", "Maya lives in Porto", "Maya lives in Lisbon")]
    assert not service.update("maya", a.id, content="Maya lives in Lisbon").changed  # same text: no new version

    pinned = service.pin("maya", a.id)
    assert pinned.changed and pinned.memory.pinned and not service.pin("maya", a.id).changed
    assert service.show("maya", a.id).history[-1].reason == "pinned"

    deleted = service.delete("maya", a.id)
    assert deleted.id == a.id
    with pytest.raises(MemoryNotFoundError, match="list or search"):
        service.show("maya", a.id)
    with pytest.raises(MemoryNotFoundError):
        service.delete("maya", a.id)


def test_ids_never_reach_another_user(service: MemoryService) -> None:
    theirs = service.add("omar", kind="semantic", content="Omar lives in Cairo").memory
    for user in ("maya", "*", "omar*", "@p:{x}", "-omar", "omar|maya"):
        for call in (lambda u: service.show(u, theirs.id), lambda u: service.delete(u, theirs.id),
                     lambda u: service.update(u, theirs.id, content="hacked"), lambda u: service.pin(u, theirs.id)):
            with pytest.raises(MemoryNotFoundError):
                call(user)
        assert service.search(user, "Omar Cairo") == []
        assert service.list_memories(user).memories == []
    assert service.show("omar", theirs.id).content == "Omar lives in Cairo" and service.show("omar", theirs.id).version == 1
    for bad in ("", " maya", "a.b", "a/b", "{user_id}", "x" * 300, None, 3):
        with pytest.raises(InvalidRequestError):
            service.list_memories(bad)  # type: ignore[arg-type]


def test_schema_and_limits_are_enforced_before_any_write(service: MemoryService) -> None:
    bad = [
        dict(kind="semantic", content="x", fields={"colour": "red"}),
        dict(kind="nonsense", content="x"),
        dict(kind="semantic", content="   "),
        dict(kind="semantic", content="x", importance=11),
        dict(kind="episodic", content="x", fields={"occurred_at": "not a date"}),
        dict(kind="semantic", fields={"subject": "user"}),  # no text at all
    ]
    for kwargs in bad:
        with pytest.raises(InvalidRequestError):
            service.add("maya", **kwargs)
    with pytest.raises(LimitError, match="memory_bytes"):
        service.add("maya", kind="semantic", content="word " * 2000)
    with pytest.raises(LimitError, match="query_bytes"):
        service.search("maya", "q" * 5000)
    with pytest.raises(InvalidRequestError, match="Empty query"):
        service.search("maya", " ")
    for limit in (0, -1, 10_000, True):
        with pytest.raises(InvalidRequestError, match="limit"):
            service.list_memories("maya", limit=limit)
    assert service.list_memories("maya").memories == []
    fact = service.add("maya", kind="semantic", content="Maya lives in Porto").memory
    with pytest.raises(LimitError):
        service.update("maya", fact.id, content="word " * 2000)
    with pytest.raises(InvalidRequestError, match="Nothing to change"):
        service.update("maya", fact.id)
    assert service.show("maya", fact.id).version == 1


def test_near_duplicates_are_not_stored_twice(service: MemoryService) -> None:
    first = service.add("maya", kind="semantic", content="Maya lives in Porto")
    again = service.add("maya", kind="semantic", content="maya lives in porto!")
    assert first.changed and not again.changed and again.memory.id == first.memory.id and "Already known" in again.note
    assert len(service.list_memories("maya").memories) == 1
    other = service.add("omar", kind="semantic", content="Maya lives in Porto")
    assert other.changed  # another user's memory is no duplicate


def test_list_pages_with_cursors(service: MemoryService) -> None:
    for i in range(23):
        service.add("maya", kind="episodic", content=f"Episode number {i} of the saga {'x' * i}")
    for i in range(4):
        service.add("maya", kind="semantic", content=f"Fact {i} about zebras and {'y' * i}")
    service.recall_context("maya", query="zebras")  # creates access statistics (bookkeeping) under maya
    service.flush()
    seen: list[str] = []
    cursor = None
    while True:
        page = service.list_memories("maya", limit=10, cursor=cursor)
        assert len(page.memories) <= 10
        seen += _ids(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 27
    episodic = service.list_memories("maya", kind="episodic", limit=500)
    assert len(episodic.memories) == 23 and episodic.next_cursor is None
    first = service.list_memories("maya", kind="episodic", limit=5)
    with pytest.raises(InvalidRequestError, match="kind"):
        service.list_memories("maya", kind="semantic", cursor=first.next_cursor)
    for bad in ("garbage", "eyJvIjotMSwiayI6bnVsbH0"):  # the second: offset -1
        with pytest.raises(InvalidRequestError, match="cursor"):
            service.list_memories("maya", cursor=bad)


def test_recall_context_is_recall_nodes_block(service: MemoryService) -> None:
    service.add("maya", kind="semantic", content="Maya's daughter Lea is seven")
    service.add("maya", kind="procedural", content="Answer in short sentences", fields={"source": "be short"})
    messages = [HumanMessage("Hi"), AIMessage("Hello"), HumanMessage("How old is Lea?")]
    ctx = service.recall_context("maya", messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                                                   {"role": "user", "content": "How old is Lea?"}])
    node = RecallNode(reinforce="off", rules_ttl=0)
    expected = node.recall(messages, config={"configurable": {"user_id": "maya"}}, store=service.store)
    assert ctx.text == expected.text and "Lea is seven" in ctx.text and "<user_rules>" in ctx.text
    assert [m.content for m in ctx.rules] == ["[general] Answer in short sentences"]
    small = service.recall_context("maya", query="How old is Lea?", max_tokens=60)
    assert len(small.memories) <= len(ctx.memories)
    with pytest.raises(InvalidRequestError, match="either"):
        service.recall_context("maya")
    with pytest.raises(InvalidRequestError, match="max_tokens"):
        service.recall_context("maya", query="x", max_tokens=10)
    with pytest.raises(InvalidRequestError, match="role"):
        service.recall_context("maya", messages=[{"role": "wizard", "content": "x"}])
    assert "Answer in short sentences" in service.rules_prompt("maya", base="You are helpful.")
    assert service.recall_context("nobody", query="anything").text == ""


def test_forget_user_is_verified_and_spares_others(service: MemoryService) -> None:
    for i in range(5):
        service.add("maya", kind="semantic", content=f"Maya fact {i} {'z' * i}")
    service.add("omar", kind="semantic", content="Omar lives in Cairo")
    service.reflect("maya", [{"role": "user", "content": "I moved to Lisbon last year.", "id": "m1"}])
    service.recall_context("maya", query="Maya fact")
    result = service.forget_user("maya")
    assert result.remaining == 0 and result.deleted >= 7
    assert result.verified_by == ("SCAN" if hasattr(service.store, "scan_namespace_prefix") else "search")
    assert service.list_users()[0].user_id == "omar" and len(service.list_users()) == 1
    assert service.list_memories("omar").memories[0].content == "Omar lives in Cairo"


def test_list_users_and_stats(service: MemoryService) -> None:
    a = service.add("maya", kind="semantic", content="Maya lives in Porto", importance=9).memory
    service.add("maya", kind="episodic", content="Maya went sailing on the Douro")
    service.add("omar", kind="procedural", content="Use metric units")
    service.recall_context("maya", query="Where does Maya live?")
    service.flush()
    users = {u.user_id: u for u in service.list_users()}
    assert users["maya"].counts == {"semantic": 1, "episodic": 1} and users["maya"].total == 2
    assert users["maya"].internal >= 1  # access statistics
    assert users["omar"].counts == {"procedural": 1} and users["omar"].last_activity is not None
    assert users["maya"].last_activity >= users["maya"].last_activity.replace(year=2020)
    stats = service.stats("maya")
    assert stats.total == 2 and stats.importance[9] == 1 and stats.by_kind == {"semantic": 1, "episodic": 1}
    assert stats.recalls >= 1 and stats.forgettable_now == 0
    service.pin("maya", a.id)
    later = service.stats("maya")
    assert [c.memory.kind for c in later.forget_next] == ["episodic"]  # the pinned fact is never forgotten
    assert later.forget_next[0].drops_at > utcnow() + timedelta(days=100)


def test_reflect_writes_memories_found_by_search(service: MemoryService) -> None:
    transcript = [{"role": "user", "content": "I keep bees on my roof in Porto.", "id": "u1"},
                  {"role": "assistant", "content": "Lovely!", "id": "a1"}]
    outcome = service.reflect("maya", transcript, thread_id="chat-1")
    assert outcome.offline and outcome.messages == 2 and outcome.inserted
    assert any("bees" in h.memory.content for h in service.search("maya", "bees roof"))
    assert service.reflect("maya", transcript, thread_id="chat-1").skipped == "no new messages"
    with pytest.raises(InvalidRequestError):
        service.reflect("maya", [])


def test_export_counts_memories_apart_from_bookkeeping(service: MemoryService) -> None:
    service.add("maya", kind="semantic", content="Maya lives in Porto")
    service.reflect("maya", [{"role": "user", "content": "My cat is called Miso.", "id": "x1"}])
    exported = service.export("maya")
    assert exported.internal >= 1 and exported.memories == len(service.list_memories("maya", limit=100).memories)
    only = service.export("maya", memories_only=True)
    assert only.internal == 0 and only.memories == exported.memories


def test_an_unreachable_store_is_one_clear_error(closed_port: int) -> None:
    from langmem_ext.connection import connect
    from langmem_ext.store import RedisStore

    client = connect(f"redis://127.0.0.1:{closed_port}", connect_timeout=0.5, retries=0)
    service = MemoryService(RedisStore(client))
    with pytest.raises(StoreUnavailableError, match="Cannot reach Redis"):
        service.list_memories("maya")


async def test_async_service_shares_the_operations(aservice) -> None:
    added = await aservice.add("maya", kind="semantic", content="Maya lives in Porto")
    assert (await aservice.search("maya", "Maya Porto"))[0].memory.id == added.memory.id
    await aservice.update("maya", added.memory.id, content="Maya lives in Lisbon")
    assert [h.op for h in (await aservice.show("maya", added.memory.id)).history] == ["insert", "update"]
    assert "Lisbon" in (await aservice.recall_context("maya", query="Where does Maya live?")).text
    assert (await aservice.reflect("maya", [{"role": "user", "content": "I have two kids.", "id": "k"}])).offline
    assert (await aservice.list_users())[0].user_id == "maya"
    assert (await aservice.stats("maya")).total >= 1
    assert (await aservice.export("maya")).memories >= 1
    with pytest.raises(MemoryNotFoundError):
        await aservice.show("omar", added.memory.id)
    result = await aservice.forget_user("maya")
    assert result.remaining == 0 and (await aservice.list_memories("maya")).memories == []


def test_list_current_or_closed_facts_with_history_and_one_users_summary(service: MemoryService) -> None:
    lisbon = service.add("maya", kind="semantic", content="Maya lives in Lisbon").memory
    porto = service.add("maya", kind="semantic", content="Maya works in Porto").memory
    service.add("maya", kind="episodic", content="Maya moved house in May")
    service.add("omar", kind="semantic", content="Omar lives in Cairo")
    service.update("maya", lisbon.id, fields={"valid_to": "2025-05-01T00:00:00+00:00"}, reason="moved")
    closed = service.list_memories("maya", kind="semantic", closed=True, with_history=True)
    assert _ids(closed) == [lisbon.id]
    assert [h.op for h in closed.memories[0].history] == ["insert", "update"]
    current = service.list_memories("maya", kind="semantic", closed=False)
    assert _ids(current) == [porto.id] and current.memories[0].history is None
    assert len(service.list_memories("maya").memories) == 3  # closed=None: everything
    with pytest.raises(InvalidRequestError, match="closed"):
        service.list_memories("maya", closed="yes")  # type: ignore[arg-type]
    summary = service.user_summary("maya")
    assert summary.counts == {"semantic": 2, "episodic": 1} and summary.total == 3 and summary.last_activity
    assert service.user_summary("nobody").total == 0
