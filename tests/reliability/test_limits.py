"""Limits: oversized values, messages and memories, too many namespace labels.

Issue #7: each test states the behaviour we want: a clear error naming the limit,
raised before any I/O, with stored data unchanged. Defaults (``langmem_ext.limits.Limits``,
docs/reliability.md "Limits"): store value 1 MiB serialised, indexed text 32 KiB,
namespace 16 labels of 256 characters, key 1 KiB, search query 4 KiB, one message
1 MiB, memory content 4 KiB.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langmem_ext.long_term import SemanticMemory, put_memories
from tests.reliability._backends import make_saver, make_store
from tests.reliability._chat_graph import build_graph, config, contents

NAMES_THE_LIMIT = r"(?i)(limit|too (large|long|big|many)|exceed|maximum|at most)"


def _const_embed(texts: list[str]) -> list[list[float]]:
    return [[1.0] + [0.0] * 7 for _ in texts]


@pytest.fixture
def store(redis_url: str) -> Any:
    return make_store(redis_url, index={"dims": 8, "embed": _const_embed, "fields": ["text"]})


def test_oversized_store_value_is_refused(store: Any) -> None:
    store.put(("u",), "k", {"text": "small"})
    with pytest.raises((ValueError, TypeError), match=NAMES_THE_LIMIT):
        store.put(("u",), "k", {"text": "word " * (2 * 2**20 // 5)})  # 2 MiB
    assert store.get(("u",), "k").value == {"text": "small"}


def test_too_many_namespace_labels_are_refused(store: Any) -> None:
    with pytest.raises(ValueError, match=NAMES_THE_LIMIT):
        store.put(tuple(f"l{i}" for i in range(1000)), "k", {"text": "x"})
    assert store.list_namespaces() == []


def test_oversized_memory_is_refused(store: Any) -> None:
    with pytest.raises(ValueError, match=NAMES_THE_LIMIT):
        put_memories(store, ("memories", "u", "semantic"), [SemanticMemory(content="fact " * 20_000)], index=False)
    assert store.search(("memories", "u")) == []


def test_oversized_message_is_refused_and_the_thread_is_unchanged(redis_url: str) -> None:
    graph = build_graph(make_saver(redis_url))
    graph.invoke({"messages": [HumanMessage("hello")]}, config("t"))
    with pytest.raises(ValueError, match=NAMES_THE_LIMIT):
        graph.invoke({"messages": [HumanMessage("y" * (4 * 2**20))]}, config("t"))
    assert contents(graph.get_state(config("t")).values["messages"]) == ["hello", "echo: hello"]
