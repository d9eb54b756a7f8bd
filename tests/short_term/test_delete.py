import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langmem_ext.short_term import delete_messages, deletion_updates, select_deletions
from tests.short_term._conversations import assert_valid, conversations, is_subsequence


def history():
    calls = [{"name": "f", "args": {}, "id": "c1"}, {"name": "g", "args": {}, "id": "c2"}]
    return [
        SystemMessage("sys", id="s"),
        HumanMessage("q1", id="h1"),
        AIMessage("", tool_calls=calls, id="a1"),
        ToolMessage("r2", tool_call_id="c2", id="t2"),
        ToolMessage("r1", tool_call_id="c1", id="t1"),
        AIMessage("answer", id="a2"),
        HumanMessage("q2", id="h2"),
        AIMessage("answer 2", id="a3"),
    ]


def test_deleting_a_result_deletes_its_call_and_siblings_and_vice_versa():
    assert select_deletions(history(), ids=["t1"]) == ["a1", "t2", "t1"]
    assert select_deletions(history(), ids=["a1"]) == ["a1", "t2", "t1"]


def test_deleting_the_first_question_removes_the_now_leading_answers():
    remaining = delete_messages(history(), ids=["h1"])
    assert [m.id for m in remaining] == ["s", "h2", "a3"]
    assert_valid(remaining)


def test_keep_last_turns_predicate_and_everything():
    assert [m.id for m in delete_messages(history(), keep_last_turns=1)] == ["s", "h2", "a3"]
    assert [m.id for m in delete_messages(history(), keep_last_turns=5)] == [m.id for m in history()]
    assert [m.id for m in delete_messages(history(), everything=True)] == ["s"]
    out = delete_messages(history(), predicate=lambda m: "answer" in str(m.content))
    assert [m.id for m in out] == ["s", "h1", "a1", "t2", "t1", "h2"]
    assert_valid(out)


def test_system_message_only_by_id_and_unknown_ids_are_ignored():
    assert select_deletions(history(), ids=["s", "nope"]) == ["s"]


def test_updates_are_remove_messages():
    assert [u.id for u in deletion_updates(history(), ids=["a3"])] == ["a3"]


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="Say what to delete"):
        select_deletions(history())
    with pytest.raises(ValueError, match="keep_last_turns"):
        select_deletions(history(), keep_last_turns=-1)
    with pytest.raises(ValueError, match="no id"):
        select_deletions([HumanMessage("x")], everything=True)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), history=conversations())
def test_delete_properties(data, history):
    before = copy.deepcopy(history)
    ids = data.draw(st.lists(st.sampled_from([m.id for m in history]), max_size=4))
    turns = data.draw(st.none() | st.integers(0, 4))
    out = delete_messages(history, ids=ids, keep_last_turns=turns)
    assert history == before
    assert is_subsequence(out, history)
    assert not ({m.id for m in out} & set(ids))
    assert_valid(out)
    assert delete_messages(out, ids=ids, keep_last_turns=turns) == out
