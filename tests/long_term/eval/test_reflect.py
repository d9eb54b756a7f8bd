"""LoCoMo played through ReflectionNode: messages as a graph holds them, stats, LLM calls."""

from __future__ import annotations

from langmem_ext.long_term.eval import load_locomo
from langmem_ext.long_term.eval.reflect import (
    ReflectionStats,
    reflect_conversation,
    reflection_node,
    session_messages,
)
from langmem_ext.long_term.testing import ScriptedChatModel


def test_session_messages_carry_speaker_id_time_and_caption(tiny_locomo):
    (conv,) = load_locomo(tiny_locomo)
    messages = session_messages(conv, 1)
    assert [m.id for m in messages] == ["D1:1", "D1:2", "D1:3", "D1:4"]
    assert [m.name for m in messages] == ["Ana", "Ben", "Ana", "Ben"]
    assert messages[0].additional_kwargs["timestamp"] == "2023-03-03T10:00:00+00:00"
    assert messages[1].additional_kwargs["timestamp"] == "2023-03-03T10:01:00+00:00"
    assert messages[3].content.endswith("[shares a photo: a photo of a small dog running on grass]")


def test_offline_reflection_writes_episodes_and_facts_with_turn_sources(tiny_locomo, store):
    (conv,) = load_locomo(tiny_locomo)
    store.delete_namespace_prefix(("t-refl",))
    node = reflection_node(("t-refl", "{user_id}"))
    stats = reflect_conversation(node, store, conv, stats=ReflectionStats())
    assert stats.sessions == 2 and stats.turns == 8 and stats.llm_calls == 0
    assert len(stats.session_seconds) == 2
    items = [i for i in store.search(("t-refl", "tiny-1"), limit=100) if "kind" in i.value]
    episodes = [i.value for i in items if i.value["kind"] == "episodic"]
    # one episode per turn of three words or more, each citing its own dialogue id
    assert sorted(e["source_ids"][0] for e in episodes) == sorted(t.dia_id for t in conv.turns)
    # a neighbour's reply is not recorded as the "outcome" of a turn between two people
    assert not any(e["outcome"] for e in episodes)
    summary = stats.summary()
    assert summary["written"]["episodic"] == len(episodes) and summary["extractor"] == "offline"
    assert summary["written_per_turn"]["episodic"] == round(len(episodes) / 8, 3)


def test_model_calls_are_counted_once_per_session(tiny_locomo, store):
    (conv,) = load_locomo(tiny_locomo)
    store.delete_namespace_prefix(("t-refl-m",))
    insert = {"action": "insert", "kind": "semantic", "memory": {"subject": "Ben", "content": "Ben has a beagle",
                                                                  "source_ids": ["D1:2"]}}
    model = ScriptedChatModel(responses=[{"operations": [insert]}, {"operations": []}])
    node = reflection_node(("t-refl-m", "{user_id}"), model=model)
    stats = reflect_conversation(node, store, conv, stats=ReflectionStats(extractor="scripted"))
    assert stats.llm_calls == 2 == len(model.calls)
    assert stats.written == {"semantic": 1}
    # the model saw each session's turns, named and dated
    assert "Ben" in model.calls[0][-1].content and "2023-03-03" in model.calls[0][-1].content
