"""Removing messages by id from stored values (the pure half of purge_messages)."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Interrupt, Send

from langmem_ext.checkpoint._scrub import DROP, scrub


def test_nested_containers_lose_only_the_listed_messages() -> None:
    keep, gone = HumanMessage("keep", id="k"), AIMessage("secret", id="g")
    value = {
        "messages": [keep, gone],
        "pair": (gone, 1),
        "dict_form": [{"role": "user", "content": "secret", "id": "g"}, {"id": "g"}],
        "send": Send("node", {"messages": [gone, keep]}),
        "interrupt": Interrupt(value=[gone], id="i"),
        "other": "untouched",
    }
    before = copy.deepcopy(value)
    new, removed = scrub(value, frozenset({"g"}))
    assert removed == 5
    assert new["messages"] == [keep]
    assert new["pair"] == (1,)
    assert new["dict_form"] == [{"id": "g"}]  # not a message: no content/role/type
    assert new["send"].node == "node" and new["send"].arg == {"messages": [keep]}
    assert new["interrupt"].value == [] and new["interrupt"].id == "i"
    assert new["other"] == "untouched"
    assert value == before  # input untouched


def test_a_value_that_is_a_deleted_message_is_dropped_and_others_are_returned_as_is() -> None:
    msg = AIMessage("x", id="1")
    assert scrub(msg, frozenset({"1"})) == (DROP, 1)
    assert scrub(msg, frozenset({"2"}))[0] is msg
    value = {"a": [1, 2]}
    assert scrub(value, frozenset({"1"}))[0] is value


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from("abcdef"), max_size=12), st.sets(st.sampled_from("abcdefg")))
def test_scrub_keeps_the_rest_in_order(ids: list[str], doomed: set[str]) -> None:
    messages = [HumanMessage(f"text {i}", id=i) for i in ids]
    new, removed = scrub(messages, frozenset(doomed))
    assert [m.id for m in new] == [i for i in ids if i not in doomed]
    assert removed == sum(i in doomed for i in ids)
