"""The offline extractor's first-person fact patterns, attributes and rules."""

from __future__ import annotations

import pytest

from langmem_ext.long_term.offline_facts import attribute_keys, attribute_of, sentence_facts, sentence_rules


@pytest.mark.parametrize(("sentence", "facts"), [
    ("I am vegetarian, so please never suggest recipes with meat or fish.", [("User is vegetarian", "diet")]),
    ("These days I'm vegan.", [("User is vegan", "diet")]),
    ("I became pescatarian last month.", [("User is pescatarian", "diet")]),
    ("I moved to Madrid last month.", [("User lives in Madrid", "lives in")]),
    ("Actually I live in Porto now, not Lisbon.", [("User lives in Porto", "lives in")]),
    ("I started a new job at Stark Foods.", [("User works at Stark Foods", "works at")]),
    ("I work for Globex as an analyst.", [("User works at Globex", "works at"), ("User works as analyst", "works as")]),
    ("We renamed our cat Olive.", [("User's cat is called Olive", "'s cat is called")]),
    ("I have a dog called Bruno.", [("User has a dog called Bruno", "'s dog is called")]),
    ("My new partner is called Priya.", [("User's partner is Priya", "'s partner is called")]),
    ("My brother is vegan.", [("User's brother is vegan", None)]),  # a property of someone else
    ("My friend Diego became vegetarian.", []),
    ("My sister Ines is visiting me in May.", []),
    ("I love it!", []),
    ("I'll do my best to help.", [("User plans to do their best to help", None)]),
])
def test_sentence_facts(sentence, facts):
    assert sentence_facts(sentence, "User") == facts


def test_a_new_value_sets_the_same_attribute_as_the_stored_fact():
    for old, new in [("I live in Oslo.", "I just moved to Bergen!"), ("I have a dog called Bruno.", "We renamed our dog Rocket."),
                     ("I am vegetarian.", "I eat meat again."), ("My partner is Sam.", "My partner is Alex now.")]:
        ((stored, _),) = sentence_facts(old, "User")
        ((_, attribute),) = sentence_facts(new, "User")
        assert attribute_of(stored, "User") == attribute is not None, (old, new)


def test_rules_inside_a_sentence_and_keys():
    assert sentence_rules("I am vegetarian, so please never suggest recipes with meat or fish.") == [
        "Never suggest recipes with meat or fish"]
    assert sentence_rules("Please answer in French.") == ["Please answer in French"]
    assert sentence_rules("I never liked mornings.") == []
    assert "diet" in attribute_keys("diet") and attribute_keys(None) == []
