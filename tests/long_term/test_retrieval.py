"""The retrieval recipe (fusion, neighbours, time) over real stores."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langgraph.store.memory import InMemoryStore

from langmem_ext.long_term import EpisodicMemory, SemanticMemory, put_memories
from langmem_ext.long_term.retrieval import (
    arecall,
    fuse_scores,
    propagate_neighbors,
    query_time_hints,
    recall,
    supports_text_search,
    time_boosts,
)
from langmem_ext.store import RedisStore

T0 = datetime(2023, 5, 8, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(minilm_store: RedisStore) -> RedisStore:
    """These tests need meaning: the MiniLM store, not the parent folder's hash-embedding one."""
    return minilm_store


def test_fusion_rewards_agreement_and_respects_the_weight():
    lists = {"text": [("a", 10.0), ("b", 6.0), ("c", 1.0)], "vector": [("c", 0.9), ("b", 0.8), ("d", 0.1)]}
    fused = fuse_scores(lists, vector_weight=0.5)
    assert max(fused, key=fused.get) == "b"  # good in both beats best in one
    assert set(fused) == {"a", "b", "c", "d"}
    text_only = fuse_scores(lists, vector_weight=0.0)
    assert sorted(text_only, key=text_only.get, reverse=True)[:3] == ["a", "b", "c"]
    vec_only = fuse_scores(lists, vector_weight=1.0)
    assert max(vec_only, key=vec_only.get) == "c"
    with pytest.raises(ValueError, match="vector_weight"):
        fuse_scores(lists, vector_weight=1.5)
    with pytest.raises(ValueError, match="named 'text' and 'vector'"):
        fuse_scores({"bm25": []})


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=1, max_size=12), st.floats(0, 1))
def test_neighbor_propagation_only_adds_and_stays_in_the_namespace(scores, weight):
    keys = [f"k{i}" for i in range(len(scores))]
    places = {k: (("a",) if i % 2 else ("b",), T0 + timedelta(minutes=i // 2)) for i, k in enumerate(keys)}
    out = propagate_neighbors(dict(zip(keys, scores)), places, weight=weight, window=timedelta(minutes=1))
    low = min(scores)
    for i, k in enumerate(keys):
        same_ns_near = [j for j in range(len(keys)) if j != i and j % 2 == i % 2 and abs(j // 2 - i // 2) <= 1]
        expected = scores[i] + weight * sum(scores[j] - low for j in same_ns_near)
        assert out[k] == pytest.approx(expected, abs=1e-9)


def test_time_hints_and_boosts():
    assert query_time_hints("What did Ana bake?") == (False, [])
    assert query_time_hints("How long has Ben run?")[0]
    boosts = time_boosts(
        "When did Ana move, in May 2023?",
        {"dated": ("moved yesterday (2023-05-07)", T0 - timedelta(days=400)),
         "may": ("moved house", T0),
         "both": ("in May she moved", T0),
         "none": ("moved house", T0 - timedelta(days=400))},
    )
    assert boosts == {"dated": 1.0, "may": 1.0, "both": 2.0}


def _episodes():
    lines = [
        "Ana: I adopted a greyhound named Comet.",       # lexical match for "Comet"
        "Ben: That's wonderful, what a lovely pet!",    # neighbour of the answer
        "Ana: I repaired my bicycle brakes today.",
        "Ben: My sister is getting married in Lisbon.",
        "Ana: The weather has been rainy all week.",
    ]
    return [
        EpisodicMemory(id=f"e{i}", situation=s, occurred_at=T0 + timedelta(minutes=i), source_ids=[f"D1:{i + 1}"])
        for i, s in enumerate(lines)
    ]


def test_recall_modes_on_redis(store):
    put_memories(store, ("u", "episodic"), _episodes())
    put_memories(store, ("other", "episodic"), [EpisodicMemory(id="x", situation="Ana: Comet is my greyhound.")])
    for mode in ("vector", "text", "hybrid", "hybrid+time"):
        hits = recall(store, ("u",), "What is the name of Ana's dog Comet?", limit=3, mode=mode)
        assert hits[0].key == "e0", mode
        assert all(h.namespace == ("u", "episodic") for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # the wedding is found by meaning (no shared word) in vector and hybrid modes
    assert recall(store, ("u",), "Who has a wedding coming up?", limit=1, mode="hybrid")[0].key == "e3"
    # a neighbour of a strong hit moves up when propagation is on
    off = {h.key: h.score for h in recall(store, ("u",), "greyhound Comet", limit=5, mode="hybrid", neighbor_weight=0.0)}
    on = {h.key: h.score for h in recall(store, ("u",), "greyhound Comet", limit=5, mode="hybrid", neighbor_weight=0.3)}
    assert max(on, key=on.get) == "e0"
    # e1 (next to e0) gains more than e4 (whose only neighbour, e3, is weak)
    assert on["e1"] - off["e1"] > on["e4"] - off["e4"] >= 0


async def test_async_recall_matches_sync(store):
    put_memories(store, ("u", "episodic"), _episodes())
    sync = [(h.key, h.score) for h in recall(store, ("u",), "bicycle repair", limit=4)]
    async_ = [(h.key, h.score) for h in await arecall(store, ("u",), "bicycle repair", limit=4)]
    assert async_ == sync and sync[0][0] == "e2"


def test_bad_options_and_stores_without_bm25(store):
    mem = InMemoryStore(index={"dims": 2, "embed": lambda texts: [[1.0, float(len(t))] for t in texts]})
    put_memories(mem, ("u",), [SemanticMemory(content="x"), SemanticMemory(content="yyyy")])
    assert supports_text_search(store) and not supports_text_search(mem)
    assert len(recall(mem, ("u",), "x", limit=1, mode="vector")) == 1
    # hybrid falls back to the vector list alone: the same order as the store's vector search
    plain = [h.key for h in mem.search(("u",), query="x", limit=2)]
    assert [h.key for h in recall(mem, ("u",), "x", limit=2, mode="hybrid")] == plain
    with pytest.raises(ValueError, match="no text"):
        recall(mem, ("u",), "x", mode="text")
    with pytest.raises(ValueError, match="mode must be"):
        recall(mem, ("u",), "x", mode="bm25")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit <= depth"):
        recall(mem, ("u",), "x", limit=10, depth=5)
