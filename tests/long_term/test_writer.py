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


def test_duplicate_ids_rejected_before_writing():
    store = InMemoryStore()
    a = SemanticMemory(content="a")
    with pytest.raises(ValueError, match="twice"):
        put_memories(store, NS, [a, SemanticMemory(id=a.id, content="b")])
    assert store.search(()) == []


def test_non_memory_rejected():
    with pytest.raises(TypeError, match="MemoryBase"):
        put_memories(InMemoryStore(), NS, [{"content": "x"}])
