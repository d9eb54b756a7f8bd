"""Fixtures for the LoCoMo eval tests: a tiny hand-written conversation in LoCoMo's format
(so the tests never need the CC BY-NC dataset) and a RedisStore on the session's Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langmem_ext.store import RedisStore

import os

# ../shared/data beside the repository (as on the developers' machines and in CI);
# LANGMEM_EXT_LOCOMO overrides it.
LOCOMO_DEV = Path(
    os.environ.get("LANGMEM_EXT_LOCOMO")
    or Path(__file__).resolve().parents[3].parent / "shared" / "data" / "locomo" / "locomo-dev.json"
)

TINY = [
    {
        "sample_id": "tiny-1",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Ben",
            "session_1_date_time": "10:00 am on 3 March, 2023",
            "session_1": [
                {"speaker": "Ana", "dia_id": "D1:1", "text": "Hi Ben! How was your weekend?"},
                {"speaker": "Ben", "dia_id": "D1:2", "text": "Great, I adopted a beagle puppy named Biscuit yesterday."},
                {"speaker": "Ana", "dia_id": "D1:3", "text": "So cute! What does Biscuit like?"},
                {"speaker": "Ben", "dia_id": "D1:4", "text": "Chasing tennis balls in the park.",
                 "blip_caption": "a photo of a small dog running on grass", "img_url": ["x"]},
            ],
            "session_2_date_time": "6:30 pm on 20 April, 2023",
            "session_2": [
                {"speaker": "Ana", "dia_id": "D2:1", "text": "I finally finished my pottery course!"},
                {"speaker": "Ben", "dia_id": "D2:2", "text": "Congrats! What did you make?"},
                {"speaker": "Ana", "dia_id": "D2:3", "text": "A blue ceramic vase for my grandmother."},
                {"speaker": "Ben", "dia_id": "D2:4", "text": "I am training for a marathon in Lisbon next month."},
            ],
            "session_3_date_time": "9:00 am on 1 May, 2023",
        },
        "qa": [
            {"question": "What is the name of Ben's puppy?", "answer": "Biscuit", "evidence": ["D1:2"], "category": 4},
            {"question": "When did Ben adopt his dog?", "answer": "2 March 2023", "evidence": ["D01:02"], "category": 2},
            {"question": "What did Ana make in her pottery course?", "answer": "a vase",
             "evidence": ["D2:1; D2:3"], "category": 1},
            {"question": "Which city is Ben's marathon in?", "answer": "Lisbon", "evidence": ["D:2:4"], "category": 4},
            {"question": "What did Ana's beagle chase?", "adversarial_answer": "tennis balls",
             "evidence": ["D1:4"], "category": 5},
            {"question": "Unanswerable?", "answer": "n/a", "evidence": [], "category": 3},
        ],
        "observation": {
            "session_1_observation": {
                "Ben": [["Ben adopted a beagle puppy called Biscuit.", "D1:2"],
                        ["Biscuit loves chasing tennis balls.", ["D1:4", "D1:3"]]],
                "Ana": [],
            },
            "session_2_observation": {
                "Ana": [["Ana made a blue ceramic vase in a pottery course.", "D2:3"]],
                "Ben": [["Ben is training for the Lisbon marathon.", "D2:4"]],
            },
        },
        "session_summary": {
            "session_1_summary": "Ben told Ana about his new beagle puppy Biscuit.",
            "session_2_summary": "Ana finished pottery and made a vase; Ben trains for a marathon.",
        },
        "event_summary": {},
    }
]


@pytest.fixture
def tiny_locomo(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-locomo.json"
    path.write_text(json.dumps(TINY))
    return path


@pytest.fixture
def store(minilm_store: RedisStore) -> RedisStore:
    """These tests need meaning: the MiniLM store, not the parent folder's hash-embedding one."""
    return minilm_store
