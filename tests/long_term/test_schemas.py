from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

import pytest
from pydantic import Field, ValidationError

from langmem_ext.long_term import (
    EpisodicMemory,
    MemoryBase,
    ProceduralMemory,
    SemanticMemory,
    from_value,
    register_memory_kind,
    to_value,
)
from langmem_ext.long_term.schemas import memory_kinds


def test_every_field_has_a_description():
    for model in (SemanticMemory, EpisodicMemory, ProceduralMemory):
        schema = model.model_json_schema()
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{model.__name__}.{name} lacks a description"


def test_round_trip_each_kind():
    when = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
    memories = [
        SemanticMemory(subject="user", content="Lives in Paris", valid_from=when, source_ids=["a"]),
        EpisodicMemory(situation="asked for a poem", action="wrote a haiku", outcome="user liked it", occurred_at=when),
        ProceduralMemory(scope="style", rule="Answer briefly", source="please be brief"),
    ]
    for memory in memories:
        value = to_value(memory)
        assert isinstance(value["content"], str) and value["content"]
        back = from_value(value)
        assert type(back) is type(memory)
        assert back.model_dump() == memory.model_dump()


def test_episodic_content_uses_fields():
    ep = EpisodicMemory(situation="S", action="A", why="W", outcome="O")
    assert ep.content == "S Action: A Why: W Outcome: O"


def test_episode_facts_are_index_keys():
    ep = EpisodicMemory(situation="Ben: look at my puppy!", facts=["Ben adopted a beagle.", "It is called Biscuit."])
    assert ep.content == "Ben: look at my puppy! Facts: Ben adopted a beagle. It is called Biscuit."
    back = from_value(to_value(ep))
    assert isinstance(back, EpisodicMemory) and back.facts == ep.facts and back.content == ep.content
    assert "Facts" not in EpisodicMemory(situation="S").content


def test_naive_datetimes_become_utc():
    fact = SemanticMemory(content="x", valid_from=datetime(2024, 1, 1))
    assert fact.valid_from.tzinfo is timezone.utc


def test_validation_errors():
    with pytest.raises(ValidationError):
        SemanticMemory(content="")
    with pytest.raises(ValidationError):
        SemanticMemory(content="x", importance=11)


def test_unknown_kind_names_the_fix():
    with pytest.raises(ValueError, match="register_memory_kind"):
        from_value({"kind": "nope", "content": "x"})


def test_register_custom_kind():
    @register_memory_kind
    class Contact(MemoryBase):
        kind: Literal["contact_test"] = Field(default="contact_test", description="kind")
        name: str = Field(description="name")
        phone: str = Field(description="phone")

    c = Contact(name="Ana", phone="123")
    value = to_value(c)
    assert value["content"] == "name: Ana; phone: 123"
    assert isinstance(from_value(value), Contact)
    assert memory_kinds()["contact_test"] is Contact

    class Other(MemoryBase):
        kind: Literal["contact_test"] = Field(default="contact_test", description="kind")

    with pytest.raises(TypeError, match="already registered"):
        register_memory_kind(Other)

    class NoDefault(MemoryBase):
        pass

    with pytest.raises(TypeError, match="default"):
        register_memory_kind(NoDefault)
