from __future__ import annotations

import pytest
from langgraph.store.memory import InMemoryStore

from langmem_ext.long_term import SemanticMemory, aput_memories, put_memories

NS = ("memories", "u1", "semantic")


class CountingStore(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list] = []

    def batch(self, ops):
        ops = list(ops)
        self.calls.append(ops)
        return super().batch(ops)


def test_put_memories_one_batch():
    store = CountingStore()
    calls = store.calls
    facts = [SemanticMemory(content=f"fact {i}") for i in range(3)]
    keys = put_memories(store, NS, facts)
    assert keys == [f.id for f in facts]
    assert len(calls) == 1 and len(calls[0]) == 3
    assert {i.key for i in store.search(NS)} == set(keys)


async def test_aput_memories():
    store = InMemoryStore()
    fact = SemanticMemory(content="async fact")
    await aput_memories(store, NS, [fact])
    assert (await store.aget(NS, fact.id)).value["content"] == "async fact"


@pytest.mark.parametrize(
    "namespace, match",
    [
        ("memories", "tuple of strings"),
        ((), "must not be empty"),
        (("memories", "{user_id}"), "resolve_namespace"),
        (("memories", ""), "non-empty"),
        (("a.b",), r"'\.'"),
    ],
)
def test_bad_namespace_writes_nothing(namespace, match):
    store = InMemoryStore()
    with pytest.raises(ValueError, match=match):
        put_memories(store, namespace, [SemanticMemory(content="x")])
    assert store.search(()) == []


@pytest.mark.parametrize("user_id", ["we{ird}|id", "{alice}", "a{b}c{d}"])
def test_braces_inside_a_filled_in_id_are_not_a_template(user_id):
    from langmem_ext.long_term import resolve_namespace

    store = InMemoryStore()
    ns = resolve_namespace(("memories", "{user_id}", "semantic"), {"configurable": {"user_id": user_id}})
    (key,) = put_memories(store, ns, [SemanticMemory(content="x")])
    assert store.get(ns, key).value["content"] == "x"


def test_an_unfilled_placeholder_is_named_in_the_error():
    store = InMemoryStore()
    with pytest.raises(ValueError, match=r"placeholder \{user_id\} in 'u-\{user_id\}'"):
        put_memories(store, ("memories", "u-{user_id}"), [SemanticMemory(content="x")])
    assert store.search(()) == []


def test_duplicate_ids_rejected_before_writing():
    store = InMemoryStore()
    a = SemanticMemory(content="a")
    with pytest.raises(ValueError, match="twice"):
        put_memories(store, NS, [a, SemanticMemory(id=a.id, content="b")])
    assert store.search(()) == []


def test_non_memory_rejected():
    with pytest.raises(TypeError, match="MemoryBase"):
        put_memories(InMemoryStore(), NS, [{"content": "x"}])


# --- changes, history and concurrency -------------------------------------------------

import threading  # noqa: E402

from langmem_ext.long_term.operations import plan_changes  # noqa: E402
from langmem_ext.long_term.writer import aapply_changes, apply_changes, update_memories  # noqa: E402
from langmem_ext.long_term import from_value  # noqa: E402


def _get(store, key):
    item = store.get(NS, key)
    return None if item is None else from_value(item.value)


def test_paris_to_lisbon_closes_old_fact(store):
    paris = SemanticMemory(content="Lives in Paris")
    put_memories(store, NS, [paris])
    ops = [
        {"action": "close", "id": paris.id, "reason": "moved"},
        {"action": "insert", "kind": "semantic", "memory": {"content": "Lives in Lisbon"}, "reason": "moved"},
    ]
    applied = apply_changes(store, plan_changes(ops, known={paris.id: (NS, paris)}, namespaces={"semantic": NS}))
    assert applied.updated == [paris.id] and len(applied.inserted) == 1
    old = _get(store, paris.id)
    assert old.valid_to is not None and old.content == "Lives in Paris" and old.history[-1].reason == "moved"
    new = _get(store, applied.inserted[0])
    assert new.content == "Lives in Lisbon" and new.valid_to is None and new.history[0].op == "insert"


async def test_async_apply_changes_delete(store):
    a = SemanticMemory(content="Owns a red car")
    await aput_memories(store, NS, [a])
    applied = await aapply_changes(store, plan_changes([{"action": "delete", "id": a.id}], known={a.id: (NS, a)}, namespaces={"semantic": NS}))
    assert applied.deleted == [a.id]
    assert await store.aget(NS, a.id) is None


def _race(store, concurrency):
    """Two writers each read the memory before either writes (forced interleaving)."""
    fact = SemanticMemory(content="Counts visits")
    put_memories(store, NS, [fact])
    barrier = threading.Barrier(2, timeout=0.5)
    local = threading.local()

    def bump(memory):
        if not getattr(local, "waited", False):  # only on each writer's first read (not on CAS retries)
            local.waited = True
            try:
                barrier.wait()  # with a lock the other writer cannot read now: the barrier breaks, we go on
            except threading.BrokenBarrierError:
                pass
        return memory.model_copy(update={"access_count": memory.access_count + 1})

    threads = [
        threading.Thread(target=update_memories, args=(store, [(NS, fact.id)], bump), kwargs={"concurrency": concurrency})
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _get(store, fact.id)


def test_concurrent_updates_are_not_lost(store):
    final = _race(store, "auto")
    assert final.access_count == 2 and final.version == 3


def test_without_cas_or_lock_an_update_is_lost(store):
    final = _race(store, "none")
    assert final.access_count == 1  # the race the "auto" mode exists to prevent


# --- size limits ----------------------------------------------------------------------

from langmem_ext.limits import LimitExceededError, Limits  # noqa: E402
from langmem_ext.long_term import EpisodicMemory, Changes  # noqa: E402


def test_a_memory_over_memory_bytes_is_refused_and_nothing_is_written():
    store = InMemoryStore()
    ok, big = SemanticMemory(content="fine"), SemanticMemory(content="é" * 2049)  # 4,098 bytes
    with pytest.raises(LimitExceededError, match=r"4,098 bytes, over the limit memory_bytes=4,096 \(4 KiB\)"):
        put_memories(store, NS, [ok, big])
    with pytest.raises(LimitExceededError, match="memory_bytes"):
        put_memories(store, NS, [EpisodicMemory(situation="s" * 2000, outcome="o" * 2100)])
    with pytest.raises(LimitExceededError, match="memory_bytes"):
        apply_changes(store, Changes(inserts=[(NS, ok), (NS, big)]))
    assert store.search(()) == []
    put_memories(store, NS, [big], limits=Limits(memory_bytes=None))
    assert [i.key for i in store.search(())] == [big.id]


async def test_async_writers_take_limits():
    store = InMemoryStore()
    with pytest.raises(LimitExceededError, match="memory_bytes=8"):
        await aput_memories(store, NS, [SemanticMemory(content="x" * 9)], limits=Limits(memory_bytes=8))
    with pytest.raises(LimitExceededError, match="memory_bytes=8"):
        await aapply_changes(store, Changes(inserts=[(NS, SemanticMemory(content="x" * 9))]), limits=Limits(memory_bytes=8))
    assert store.search(()) == []


@pytest.mark.parametrize("concurrency", ["auto", "none"])
def test_an_update_that_grows_a_memory_past_the_limit_is_not_written(concurrency):
    store = InMemoryStore()
    fact = SemanticMemory(content="short")
    put_memories(store, NS, [fact])
    grow = lambda m: m.model_copy(update={"content": "y" * 5000})  # noqa: E731
    with pytest.raises(LimitExceededError, match="memory_bytes"):
        update_memories(store, [(NS, fact.id)], grow, concurrency=concurrency)
    assert store.get(NS, fact.id).value["content"] == "short"


def test_an_update_that_leaves_an_oversized_text_alone_is_allowed():
    """Memories written under a larger limit can still be reinforced (their text does not change)."""
    store = InMemoryStore()
    big = SemanticMemory(content="z" * 5000)
    put_memories(store, NS, [big], limits=Limits(memory_bytes=None))
    bump = lambda m: m.model_copy(update={"access_count": m.access_count + 1})  # noqa: E731
    assert update_memories(store, [(NS, big.id)], bump).updated == [big.id]
    assert store.get(NS, big.id).value["access_count"] == 1


def test_namespace_generations_are_bounded_and_never_report_a_stale_value(monkeypatch):
    from langgraph.store.memory import InMemoryStore

    import langmem_ext.long_term.writer as writer
    from langmem_ext.long_term import SemanticMemory

    monkeypatch.setattr(writer, "MAX_GENERATIONS", 3)
    store = InMemoryStore()
    first = ("memories", "g0", "semantic")
    writer.put_memories(store, first, [SemanticMemory(content="a fact")])
    seen = writer.namespace_generation(store, first)  # what a reader caches
    for i in range(1, 6):  # four more namespaces push the first one out of the table
        writer.put_memories(store, ("memories", f"g{i}", "semantic"), [SemanticMemory(content="a fact")])
    assert len(writer._generations) == 3
    assert writer.namespace_generation(store, first) != seen  # forgotten: a cache keyed by it misses
    again = writer.namespace_generation(store, ("memories", "g5", "semantic"))
    writer.put_memories(store, ("memories", "g5", "semantic"), [SemanticMemory(content="another")])
    assert writer.namespace_generation(store, ("memories", "g5", "semantic")) != again
