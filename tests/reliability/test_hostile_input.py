"""Hostile input to the store: RediSearch syntax, unicode and very long strings.

Namespaces, keys, filter values and queries are fuzzed with Hypothesis and
checked against LangGraph's ``InMemoryStore`` as the oracle. The properties:
never a query error, never a result outside the namespace prefix asked for,
every exact lookup equal to the oracle's, and bad input rejected with a clear
error that leaves stored data unchanged.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.store.base import InvalidNamespaceError
from langgraph.store.memory import InMemoryStore

from langmem_ext.limits import Limits
from langmem_ext.long_term.namespaces import unfilled_placeholders
from tests.reliability._backends import make_store
from tests.reliability._embed import index_config

SYNTAX = list("@|-(){}[]\"'~*:;\\$%^&!<>=,/?#+`") + [" ", "\t", "\n", "\u200b", "\ufeff"]
WORDS = ["the", "a", "AND", "OR", "NOT", "-", "*", "%%", "=>", "KNN", "$vec", "@ns:{x}", "ISMISSING"]

hostile_text = st.one_of(
    st.text(alphabet=st.sampled_from(SYNTAX + list("abcXYZ019")), max_size=24),
    st.text(max_size=24),  # any unicode (no surrogates)
    st.lists(st.sampled_from(WORDS + SYNTAX), max_size=8).map(" ".join),
    st.builds(lambda ch, n: ch * n, st.sampled_from(["x", "é", "@", "\\", "日"]), st.integers(300, 3000)),
)
label = hostile_text.filter(lambda s: s != "" and "." not in s and "\x00" not in s)
namespace = st.lists(label, min_size=1, max_size=4).map(tuple)
scalar = st.one_of(hostile_text, st.integers(-(2**40), 2**40), st.booleans(), st.none())

#: The fuzz compares escaping with InMemoryStore, which has no size limits (test_limits.py tests those).
NO_LIMITS = Limits(**{name: None for name in Limits.__dataclass_fields__})

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _within(prefix: tuple[str, ...], ns: tuple[str, ...]) -> bool:
    return ns[: len(prefix)] == prefix


def _keys(items: Any) -> set[tuple[tuple[str, ...], str]]:
    return {(tuple(i.namespace), i.key) for i in items}


@SETTINGS
@given(ns_a=namespace, ns_b=namespace, key=hostile_text, tag=scalar, other=scalar, query=hostile_text)
def test_fuzzed_namespaces_keys_filters_and_queries(
    store: Any, ns_a: tuple[str, ...], ns_b: tuple[str, ...], key: str, tag: Any, other: Any, query: str
) -> None:
    root = f"fz{uuid.uuid4().hex[:12]}"
    a, b = (root, *ns_a), (root, *ns_b)
    oracle = InMemoryStore()
    writes = [
        (a, key, {"text": f"alpha {query}", "tag": tag, "n": 1}),
        (b, key, {"text": f"beta {key}", "tag": other, "n": 2}),
        (a, key + "~2", {"text": "gamma", "tag": other, "n": 3}),
    ]
    for target in (store, oracle):
        for ns, k, value in writes:
            target.put(ns, k, value)

    for ns in {a, b}:
        got, want = store.get(ns, key), oracle.get(ns, key)
        assert (got.value if got else None) == (want.value if want else None)

    for prefix in {a, b, (root,)}:
        for flt in ({"tag": tag}, {"tag": other}, {"n": 2}, None):
            got = store.search(prefix, filter=flt, limit=10)
            want = oracle.search(prefix, filter=flt, limit=10)
            assert _keys(got) == _keys(want), (prefix, flt)
        hits = store.search(prefix, query=query, filter={"tag": tag}, limit=10)
        assert all(_within(prefix, tuple(h.namespace)) for h in hits)
        assert _keys(hits) <= _keys(oracle.search(prefix, filter={"tag": tag}, limit=10))

    got_ns = store.list_namespaces(prefix=(root,), limit=100)
    assert sorted(got_ns) == sorted(oracle.list_namespaces(prefix=(root,), limit=100))

    for ns, k, _ in writes:
        store.delete(ns, k)
    assert store.search((root,), limit=10) == []


user_id = label.filter(lambda s: s != "*")  # "*" is a list_namespaces wildcard: see below


@SETTINGS
@given(user_a=user_id, user_b=user_id, text_a=hostile_text, text_b=hostile_text)
def test_one_user_never_sees_another_users_items(
    store: Any, user_a: str, user_b: str, text_a: str, text_b: str
) -> None:
    if user_a == user_b:
        user_b = user_a + "'"
    root = f"iso{uuid.uuid4().hex[:12]}"
    ns_a, ns_b = (root, user_a), (root, user_b)
    store.put(ns_a, "k", {"text": text_a or "a"})
    store.put(ns_b, "k", {"text": text_b or "b"})
    store.put(ns_b, text_a or "kb", {"text": text_a or "b2"})  # B writes A's words under A's key text
    for query in (text_a, text_b, None):
        hits = store.search(ns_a, query=query, limit=10)
        assert {tuple(h.namespace) for h in hits} == {ns_a}
    assert [i.value["text"] for i in store.search(ns_a, limit=10)] == [text_a or "a"]
    assert store.list_namespaces(prefix=ns_a) == [ns_a]
    for ns in (ns_a, ns_b):
        store.delete(ns, "k")
    store.delete(ns_b, text_a or "kb")


def test_a_star_label_is_a_list_namespaces_wildcard_as_in_langgraph(store: Any) -> None:
    """LangGraph semantics (InMemoryStore does the same): ``"*"`` in a ``list_namespaces``
    prefix matches any label, so a user id of ``"*"`` must be rejected before it becomes
    a namespace label. Search and get treat it literally."""
    oracle = InMemoryStore()
    for target in (store, oracle):
        target.put(("wild", "*"), "k", {"text": "star"})
        target.put(("wild", "bob"), "k", {"text": "bob"})
    assert sorted(store.list_namespaces(prefix=("wild", "*"))) == sorted(
        oracle.list_namespaces(prefix=("wild", "*"))
    ) == [("wild", "*"), ("wild", "bob")]
    assert [i.value["text"] for i in store.search(("wild", "*"))] == ["star"]
    store.delete(("wild", "*"), "k")
    store.delete(("wild", "bob"), "k")


@pytest.mark.parametrize(
    "bad",
    [(), ("",), ("a.b",), ("a\x00",), ("langgraph", "x"), ("ok", 3)],
    ids=["empty", "empty-label", "period", "nul", "reserved-root", "not-str"],
)
def test_invalid_namespaces_are_rejected_and_change_nothing(store: Any, bad: tuple[Any, ...]) -> None:
    store.put(("keep",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put(bad, "k", {"v": 2})  # type: ignore[arg-type]
    assert store.get(("keep",), "k").value == {"v": 1}
    assert store.list_namespaces() == [("keep",)]
    store.delete(("keep",), "k")


@pytest.fixture
def store(redis_url: str) -> Any:
    return make_store(redis_url, index=index_config(["text"]), limits=NO_LIMITS)


# The memory writer refuses labels holding an unfilled template placeholder ("{user_id}").
memory_user = user_id.filter(lambda s: not unfilled_placeholders(s))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user_a=memory_user, user_b=memory_user, text_b=hostile_text.filter(str.strip))
def test_recall_never_returns_another_users_memories(redis_url: str, user_a: str, user_b: str, text_b: str) -> None:
    from langchain_core.messages import HumanMessage

    from langmem_ext.long_term import RecallNode, SemanticMemory, put_memories
    from langmem_ext.long_term.testing import HASH_DIMS, hash_embed

    if user_a == user_b:
        user_b = user_a + "'"
    store = make_store(redis_url, index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]},
                       limits=NO_LIMITS)
    tag = uuid.uuid4().hex[:8]
    a, b = f"{tag}{user_a}", f"{tag}{user_b}"
    put_memories(store, ("memories", a, "semantic"), [SemanticMemory(content=f"a fact {tag}")], limits=NO_LIMITS)
    put_memories(store, ("memories", b, "semantic"), [SemanticMemory(content=f"{text_b} {tag}")], limits=NO_LIMITS)
    node = RecallNode(store=store, reinforce="off")
    config = {"configurable": {"user_id": a}}
    # The query is B's memory word for word: without the namespace boundary it would rank first.
    hostile = node.recall([HumanMessage(f"{text_b} {tag}")], config=config)
    assert {m.content for m in hostile.memories} <= {f"a fact {tag}"}
