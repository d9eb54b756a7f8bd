"""The supersession benchmark's fast subset: 20 seeded cases, offline and with a scripted model."""

from __future__ import annotations

import pytest

from langmem_ext.long_term.eval.supersession import generate_cases, play_case, summarize_results


def test_cases_are_seeded_varied_and_spaced_in_days():
    cases = generate_cases(200, seed=3)
    assert cases == generate_cases(200, seed=3) and cases != generate_cases(200, seed=4)
    assert {c.attribute for c in cases} == {"city", "job", "partner", "diet", "pet"}
    assert all(c.old != c.new and c.days_between >= 1 and len(c.distractors) == 3 for c in cases)
    assert all(c.sessions[0][0] < c.sessions[1][0] < c.sessions[2][0] for c in cases)
    with pytest.raises(ValueError, match="n must be"):
        generate_cases(0)


@pytest.mark.parametrize("extractor", ["offline", "scripted"])
def test_current_fact_wins_the_stale_one_is_closed_and_nothing_else(store, extractor):
    store.delete_namespace_prefix(("supersession-test",))
    results = [play_case(c, store, extractor=extractor, namespace=("supersession-test",))
               for c in generate_cases(20, seed=11)]
    summary = summarize_results(results)
    failed = [(r.case_id, r.recalled[:3]) for r in results if not (r.current_first and r.closed_not_deleted)]
    assert summary["current_first"] >= 0.95, failed
    assert summary["closed_not_deleted"] >= 0.95, failed
    assert summary["cases_with_unrelated_closed"] == 0, [r.unrelated_closed for r in results if r.unrelated_closed]
