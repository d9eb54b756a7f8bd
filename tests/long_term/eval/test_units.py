from __future__ import annotations

from datetime import timedelta

import pytest

from langmem_ext.long_term import EpisodicMemory, from_value, to_value
from langmem_ext.long_term.eval.locomo import load_locomo
from langmem_ext.long_term.eval.units import memory_turn_ids, units_for


def test_turn_memories_hold_speaker_dates_caption_and_own_facts(tiny_locomo):
    (conv,) = load_locomo(tiny_locomo)
    turns = units_for(conv, "turns")
    assert len(turns) == len(conv.turns)
    values = [to_value(m) for m in turns]
    adopted = values[1]["content"]
    assert adopted.startswith("[2023-03-03] Ben: ")
    assert "yesterday (2023-03-02)" in adopted  # relative date resolved against the session
    assert "Facts: Ben adopted a beagle puppy called Biscuit." in adopted
    assert "[shares a photo: a photo of a small dog running on grass]" in values[3]["content"]
    assert "Biscuit loves chasing tennis balls." in values[2]["content"]  # a fact citing two turns
    assert "Facts:" not in values[0]["content"]
    # turn order survives as occurred_at within a session
    assert turns[1].occurred_at - turns[0].occurred_at == timedelta(minutes=1)
    assert turns[4].occurred_at == conv.session_dates[2]
    back = from_value(values[1])
    assert isinstance(back, EpisodicMemory) and back.facts == ["Ben adopted a beagle puppy called Biscuit."]
    assert memory_turn_ids(values[1]) == ["D1:2"]
    plain = [to_value(m)["content"] for m in units_for(conv, "turns", with_facts=False)]
    assert not any("Facts:" in c for c in plain)


def test_observation_and_summary_units_cite_their_turns(tiny_locomo):
    (conv,) = load_locomo(tiny_locomo)
    obs = [to_value(m) for m in units_for(conv, "observations")]
    assert [memory_turn_ids(v) for v in obs] == [["D1:2"], ["D1:4", "D1:3"], ["D2:3"], ["D2:4"]]
    assert obs[0]["content"] == "Ben adopted a beagle puppy called Biscuit." and obs[0]["kind"] == "semantic"
    summaries = [to_value(m) for m in units_for(conv, "summaries")]
    assert [memory_turn_ids(v) for v in summaries] == [conv.session_turn_ids(1), conv.session_turn_ids(2)]
    with pytest.raises(ValueError, match="units must be"):
        units_for(conv, "paragraphs")  # type: ignore[arg-type]
