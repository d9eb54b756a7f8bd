from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langmem_ext.long_term.eval.metrics import aggregate_recall, dedupe_ids, evidence_recall


def test_hand_made_cases():
    assert evidence_recall(["D1:1", "D1:2"], ["D1:2"], k=1) == 0.0
    assert evidence_recall(["D1:1", "D1:2"], ["D1:2"], k=2) == 1.0
    assert evidence_recall(["D1:1", "D1:2", "D1:3"], ["D1:3", "D9:9", "D1:1"], k=3) == pytest.approx(2 / 3)
    # a unit standing for several turns covers all of them, and counts once towards k
    assert evidence_recall([["D1:1", "D1:2", "D1:3"], "D2:1"], ["D1:3", "D2:1"], k=1) == 0.5
    assert evidence_recall([["D1:1", "D1:2", "D1:3"], "D2:1"], ["D1:3", "D2:1"], k=2) == 1.0
    assert evidence_recall([], ["D1:1"], k=5) == 0.0


def test_aggregate_averages_per_question_then_per_category():
    out = aggregate_recall(
        [
            ("4", ["a", "b", "c"], ["a"]),        # 1, 1
            ("4", ["x", "a", "b"], ["a", "b"]),   # 0, 1
            ("2", ["b"], ["b", "z"]),             # .5, .5
            ("3", ["a"], []),                     # no evidence: left out
        ],
        ks=[1, 3],
    )
    assert out["n_questions"] == 3
    assert out["recall"] == {"1": pytest.approx(1.5 / 3), "3": pytest.approx(2.5 / 3)}
    assert out["by_category"] == {"2": {"1": 0.5, "3": 0.5, "n": 1}, "4": {"1": 0.5, "3": 1.0, "n": 2}}
    assert list(out["by_category"]) == ["2", "4"]


def test_errors():
    with pytest.raises(ValueError, match="k must be"):
        evidence_recall(["a"], ["a"], k=0)
    with pytest.raises(ValueError, match="without evidence"):
        evidence_recall(["a"], [], k=1)


ids = st.sampled_from([f"D{s}:{t}" for s in range(1, 4) for t in range(1, 6)])


@given(st.lists(ids, max_size=15), st.lists(ids, min_size=1, max_size=4))
def test_recall_is_a_share_and_grows_with_k(retrieved, evidence):
    retrieved = dedupe_ids(retrieved)
    values = [evidence_recall(retrieved, evidence, k=k) for k in range(1, 17)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values == sorted(values)
    if set(evidence) <= set(retrieved):
        assert values[-1] == 1.0
