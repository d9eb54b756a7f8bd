from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langmem_ext.long_term.eval.locomo import evidence_ids, load_locomo, parse_session_date


def test_loads_turns_questions_observations_and_summaries(tiny_locomo):
    (conv,) = load_locomo(tiny_locomo)
    assert conv.sample_id == "tiny-1" and conv.speakers == ("Ana", "Ben")
    assert [t.dia_id for t in conv.turns] == ["D1:1", "D1:2", "D1:3", "D1:4", "D2:1", "D2:2", "D2:3", "D2:4"]
    assert conv.turns[3].caption == "a photo of a small dog running on grass"
    assert conv.turns[4].date == datetime(2023, 4, 20, 18, 30, tzinfo=timezone.utc)
    assert sorted(conv.session_dates) == [1, 2]  # session 3 has a date but no turns
    evidence = [q.evidence for q in conv.questions]
    assert evidence == [("D1:2",), ("D1:2",), ("D2:1", "D2:3"), ("D2:4",), ("D1:4",), ()]
    assert conv.questions[4].answer == "tennis balls" and conv.questions[4].category == "5"
    assert [o.dia_ids for o in conv.observations][:2] == [("D1:2",), ("D1:4", "D1:3")]
    assert conv.summaries[2].startswith("Ana finished pottery")
    assert conv.session_turn_ids(2) == ["D2:1", "D2:2", "D2:3", "D2:4"]


def test_slicing_keeps_only_what_the_kept_sessions_can_answer(tiny_locomo):
    (conv,) = load_locomo(tiny_locomo, max_sessions=1)
    assert {t.session for t in conv.turns} == {1}
    assert [q.question for q in conv.questions] == [
        "What is the name of Ben's puppy?", "When did Ben adopt his dog?", "What did Ana's beagle chase?"]
    assert list(conv.summaries) == [1] and all(o.session == 1 for o in conv.observations)
    (conv,) = load_locomo(tiny_locomo, max_questions=2)
    assert len(conv.questions) == 2


def test_bad_files_are_explained(tmp_path, tiny_locomo):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"not": "a list"}))
    with pytest.raises(ValueError, match="locomo10.json format"):
        load_locomo(bad)
    bad.write_text("{oops")
    with pytest.raises(ValueError, match="not JSON"):
        load_locomo(bad)
    with pytest.raises(ValueError, match="no sample"):
        load_locomo(tiny_locomo, samples=["conv-99"])
    with pytest.raises(ValueError, match="1:56 pm on 8 May, 2023"):
        parse_session_date("8/5/2023")


@given(st.integers(1, 99), st.integers(1, 999), st.integers(0, 2))
def test_evidence_ids_normalise_any_padding(session, turn, zeros):
    pad = "0" * zeros
    assert evidence_ids([f"D{pad}{session}:{pad}{turn}"]) == [f"D{session}:{turn}"]
    assert evidence_ids([f"D:{session}:{turn}; D{session}:{turn}"]) == [f"D{session}:{turn}"]
