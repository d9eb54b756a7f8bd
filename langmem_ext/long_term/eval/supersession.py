"""Superseded facts: a seeded generator of cases, played through ReflectionNode and recalled.

Each case is one user who states a fact (where they live, where they work, their partner,
their diet, their pet's name), talks about other things (distractors: their own other
facts, and the same kind of fact about someone else), and days later states a new value.
Then a new thread asks the current-value question. A case passes three checks:

* **current first**: the current fact is recalled above every memory holding the stale
  value (the closed fact and the episode it came from);
* **closed, not deleted**: the stale fact is still stored, with ``valid_to`` set and a
  ``close`` record in its history;
* **nothing unrelated closed**: every distractor fact is still open.

:func:`reflection_script` answers a reflection call as a careful model would (it reads the
stored memories shown to the model and closes the stale one by id), so the model path of
``ReflectionNode`` runs with :class:`~langmem_ext.long_term.testing.ScriptedChatModel`-style
determinism.

Example:
    >>> cases = generate_cases(5, seed=1)
    >>> len(cases), sorted({c.attribute for c in generate_cases(50, seed=1)})
    (5, ['city', 'diet', 'job', 'partner', 'pet'])
    >>> generate_cases(3, seed=7) == generate_cases(3, seed=7)
    True
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

__all__ = [
    "ATTRIBUTES",
    "CaseResult",
    "SupersessionCase",
    "generate_cases",
    "reflection_script",
    "summarize_results",
]

CITIES = ["Lisbon", "Porto", "Berlin", "Madrid", "Oslo", "Dublin", "Vienna", "Prague", "Krakow", "Lyon",
          "Seville", "Turin", "Ghent", "Bergen", "Tallinn", "Zagreb", "Bologna", "Leeds", "Malmo", "Basel"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella Labs", "Hooli", "Vandelay Industries", "Stark Foods",
             "Wayne Logistics", "Soylent Systems", "Tyrell Bio", "Cyberdyne Audio", "Aperture Design"]
NAMES = ["Sam", "Alex", "Jordan", "Robin", "Noor", "Kai", "Lena", "Marta", "Tomas", "Ines", "Yara", "Olek",
         "Priya", "Diego", "Hana", "Felix"]
PET_NAMES = ["Pixel", "Biscuit", "Comet", "Mango", "Pepper", "Nimbus", "Olive", "Ziggy", "Luna", "Bruno",
             "Tofu", "Waffles", "Juniper", "Rocket"]
PETS = ["dog", "cat", "rabbit", "parrot"]
DIETS = ["vegetarian", "vegan", "pescatarian"]

ATTRIBUTES = ("city", "job", "partner", "diet", "pet")

# (old statement, new statement); {old}/{new} are the values, {pet} the animal
_TEMPLATES: dict[str, tuple[list[str], list[str]]] = {
    "city": (["I live in {old}.", "I live in {old}, close to the river.", "I currently live in {old}."],
             ["I moved to {new} last month.", "Big news: I just moved to {new}!", "I live in {new} now.",
              "Actually I live in {new} now, not {old}."]),
    "job": (["I work at {old}.", "I work for {old} as an analyst.", "I currently work at {old}."],
            ["I started a new job at {new}.", "I work at {new} now.", "I left {old}; I now work at {new}."]),
    "partner": (["My partner is called {old}.", "My partner is {old}."],
                ["My new partner is called {new}.", "My partner is {new} now, {old} and I split up."]),
    "diet": (["I am {old}.", "I'm {old}, so no meat for me."],
             ["I am {new} now.", "I became {new} last month.", "These days I'm {new}."]),
    "pet": (["My {pet} is called {old}.", "I have a {pet} called {old}."],
            ["We renamed our {pet} {new}.", "My {pet} is called {new} now."]),
}
_QUESTIONS = {
    "city": "Where do I live now?",
    "job": "Where do I work now?",
    "partner": "Who is my partner now?",
    "diet": "What is my diet now?",
    "pet": "What is my {pet} called now?",
}
# distractors: (text, the fact the offline extractor writes from it), never about the tested attribute
_OWN = {
    "city": ["My favourite drink is green tea.", "I love jazz.", "I have a dog called {pet_name}."],
    "job": ["I live in {city}.", "I love hiking.", "My sister is called {name}."],
    "partner": ["I work at {company}.", "I live in {city}.", "I love cooking."],
    "diet": ["I live in {city}.", "I work at {company}.", "My brother is called {name}."],
    "pet": ["I live in {city}.", "I love board games.", "My partner is called {name}."],
}
_OTHERS = {  # the same kind of fact about someone else: must not close the user's
    "city": ["My sister {name} moved to {city} last year.", "My friend lives in {city}."],
    "job": ["My brother works at {company}.", "My friend {name} started a new job at {company}."],
    "partner": ["My friend {name} has a new partner.", "My sister's partner is called {name}."],
    "diet": ["My brother is vegan.", "My friend {name} became vegetarian."],
    "pet": ["My neighbour's {pet} is called {pet_name}.", "My sister has a {pet} called {pet_name}."],
}
_CHAT = ["What a week!", "Can you recommend a good podcast?", "Thanks, that helps.", "I went for a long walk today."]


@dataclass(frozen=True)
class SupersessionCase:
    """One user, one attribute stated twice (old, then new), with distractors in between."""

    case_id: str
    attribute: str
    old: str
    new: str
    sessions: tuple[tuple[datetime, tuple[str, ...]], ...]
    """``(time, user turns)`` per session (thread), in order."""
    question: str
    distractors: tuple[str, ...] = ()
    """Distractor statements (own facts and others' facts)."""
    days_between: int = 0

    def current_marker(self) -> str:
        return self.new

    def stale_marker(self) -> str:
        return self.old


def _pick(rng: random.Random, values: Sequence[str], avoid: Sequence[str] = ()) -> str:
    return rng.choice([v for v in values if v not in avoid])


def generate_cases(n: int = 200, *, seed: int = 0, start: datetime | None = None) -> list[SupersessionCase]:
    """``n`` seeded cases, the five attributes in turn (see the module docstring)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = random.Random(seed)
    start = start or datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)
    cases = []
    for i in range(n):
        attribute = ATTRIBUTES[i % len(ATTRIBUTES)]
        pet = rng.choice(PETS)
        pool = {"city": CITIES, "job": COMPANIES, "partner": NAMES, "diet": DIETS, "pet": PET_NAMES}[attribute]
        old = rng.choice(pool)
        new = _pick(rng, pool, [old])
        fill = {"old": old, "new": new, "pet": pet, "name": _pick(rng, NAMES, [old, new]),
                "city": _pick(rng, CITIES, [old, new]), "company": _pick(rng, COMPANIES, [old, new]),
                "pet_name": _pick(rng, PET_NAMES, [old, new])}
        olds, news = _TEMPLATES[attribute]
        first = rng.choice(olds).format(**fill)
        second = rng.choice(news).format(**fill)
        own = [t.format(**fill) for t in rng.sample(_OWN[attribute], 2)]
        others = [rng.choice(_OTHERS[attribute]).format(**fill)]
        days = rng.randint(1, 400)
        t0 = start + timedelta(days=rng.randint(0, 300), hours=rng.randint(0, 8))
        middle = t0 + timedelta(days=max(1, days // 2))
        sessions = (
            (t0, (first, own[0], rng.choice(_CHAT))),
            (middle, (others[0], own[1])),
            (t0 + timedelta(days=days), (rng.choice(_CHAT), second)),
        )
        cases.append(SupersessionCase(
            case_id=f"s{seed}-{i}", attribute=attribute, old=old, new=new, sessions=sessions,
            question=_QUESTIONS[attribute].format(pet=pet), distractors=(*own, *others), days_between=days,
        ))
    return cases


def session_turns(case: SupersessionCase, number: int) -> list[BaseMessage]:
    """Session ``number`` as a thread holds it: each user turn and a short assistant reply."""
    when, turns = case.sessions[number]
    out: list[BaseMessage] = []
    for j, text in enumerate(turns):
        stamp = {"timestamp": (when + timedelta(minutes=2 * j)).isoformat()}
        out.append(HumanMessage(text, id=f"{case.case_id}:{number}:{j}:u", additional_kwargs=stamp))
        out.append(AIMessage("Noted.", id=f"{case.case_id}:{number}:{j}:a", additional_kwargs=stamp))
    return out


# ---------------------------------------------------------------------------------- model

_STORED = re.compile(r"^- id=(\S+?):? \[(\w+)\](.*)$", re.M)


def reflection_script(case: SupersessionCase, number: int, prompt: str) -> dict[str, Any]:
    """The operations a careful reflection model returns for session ``number`` of ``case``.

    It inserts the fact the session states about the tested attribute and, in the last
    session, closes the stored fact that holds the old value, by the id shown in
    ``<stored_memories>`` (so the close only works if reflection showed it to the model).
    Distractors about the user become facts too; others' facts are left alone.
    """
    ops: list[dict[str, Any]] = []
    last = number == len(case.sessions) - 1
    value = case.new if last else case.old
    if number in (0, len(case.sessions) - 1):
        ops.append({"action": "insert", "kind": "semantic", "reason": "stated by the user",
                    "memory": {"subject": "user", "content": _fact(case, value)}})
    if last:
        for key, kind, rest in _STORED.findall(prompt):
            if kind == "semantic" and "no longer true" not in rest and _fact(case, case.old) in rest:
                ops.insert(0, {"action": "close", "id": key, "reason": f"superseded: {case.new}"})
    if number == 1:
        for text in case.distractors[:2]:
            ops.append({"action": "insert", "kind": "semantic", "reason": "stated by the user",
                        "memory": {"subject": "user", "content": f"User said: {text.rstrip('.')}"}})
    return {"operations": ops}


def _fact(case: SupersessionCase, value: str) -> str:
    pet = re.search(r"my (\w+) called", case.question)
    return {
        "city": f"User lives in {value}",
        "job": f"User works at {value}",
        "partner": f"User's partner is {value}",
        "diet": f"User is {value}",
        "pet": f"User's {pet.group(1) if pet else 'pet'} is called {value}",
    }[case.attribute]


class CaseModel(BaseChatModel):
    """A chat model for one case whose structured output is :func:`reflection_script`."""

    case: Any = None
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "supersession-script"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=""))])

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable:  # type: ignore[override]
        def run(value: Any, config: RunnableConfig) -> Any:
            prompt = str(self._convert_input(value).to_messages()[-1].content)
            number = self.calls  # one reflection per session, in order
            self.calls += 1
            return schema.model_validate(reflection_script(self.case, number, prompt))

        return RunnableLambda(run, name="SupersessionScript")


# ---------------------------------------------------------------------------------- results


@dataclass
class CaseResult:
    """The three checks of one case."""

    case_id: str
    attribute: str
    current_first: bool
    closed_not_deleted: bool
    unrelated_closed: list[str] = field(default_factory=list)
    recalled: list[str] = field(default_factory=list)


def summarize_results(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Shares of cases passing each check, overall and per attribute."""
    def shares(rows: Sequence[CaseResult]) -> dict[str, Any]:
        n = len(rows) or 1
        return {
            "cases": len(rows),
            "current_first": sum(r.current_first for r in rows) / n,
            "closed_not_deleted": sum(r.closed_not_deleted for r in rows) / n,
            "cases_with_unrelated_closed": sum(bool(r.unrelated_closed) for r in rows),
        }

    out = shares(results)
    out["by_attribute"] = {a: shares([r for r in results if r.attribute == a]) for a in ATTRIBUTES
                           if any(r.attribute == a for r in results)}
    return out


def play_case(
    case: SupersessionCase,
    store: Any,
    *,
    extractor: str = "offline",
    recall_options: dict[str, Any] | None = None,
    namespace: Sequence[str] = ("supersession",),
) -> CaseResult:
    """Play ``case`` through ReflectionNode (``"offline"`` or ``"scripted"`` model), then ask
    its question through RecallNode in a new thread, and run the three checks."""
    from langmem_ext.long_term.recall import RecallNode
    from langmem_ext.long_term.reflection import ReflectionNode

    if extractor not in ("offline", "scripted"):
        raise ValueError(f"extractor must be 'offline' or 'scripted', got {extractor!r}")
    ns = tuple(namespace)
    kinds = ("semantic", "episodic", "procedural")
    templates = {k: (*ns, "{user_id}", k) for k in kinds}
    model = CaseModel(case=case) if extractor == "scripted" else None
    node = ReflectionNode(model=model, store=store, namespaces=templates, cursor_namespace=(*ns, "{user_id}", "cursor"),
                          on_error="raise")
    for number in range(len(case.sessions)):
        config = {"configurable": {"user_id": case.case_id, "thread_id": f"{case.case_id}:{number}"}}
        node.reflect(session_turns(case, number), config=config)
    recall = RecallNode(store=store, namespaces=templates, reinforce="off", **(recall_options or {}))
    found = recall.recall([HumanMessage(case.question)],
                          config={"configurable": {"user_id": case.case_id, "thread_id": f"{case.case_id}:q"}})
    lines = [m.content if m.kind == "semantic" else getattr(m, "situation", "") for m in found.memories]
    current = next((i for i, m in enumerate(found.memories) if m.kind == "semantic"
                    and getattr(m, "valid_to", None) is None and case.new in m.content), None)
    first_turn = f"{case.case_id}:0:0:u"
    last_turn = f"{case.case_id}:{len(case.sessions) - 1}:1:u"
    # the stale memories: what the first statement wrote (its fact and its episode) holding the old value
    stale = [i for i, (m, text) in enumerate(zip(found.memories, lines)) if case.old in text and (
        first_turn in (getattr(m, "source_ids", None) or []) or text == _fact(case, case.old))]
    facts = [i.value for i in store.search((*ns, case.case_id, "semantic"), limit=200) if "kind" in i.value]
    stale_facts = [f for f in facts if case.old in f["content"] and (
        first_turn in (f.get("source_ids") or []) or (extractor == "scripted" and f["content"] == _fact(case, case.old)))]
    closed_ok = bool(stale_facts) and all(
        f.get("valid_to") and any(h.get("op") == "close" for h in f.get("history", [])) for f in stale_facts)
    unrelated = [f["content"] for f in facts if f.get("valid_to") and f not in stale_facts
                 and last_turn not in (f.get("source_ids") or [])]
    return CaseResult(case.case_id, case.attribute, current is not None and all(current < i for i in stale),
                      closed_ok, unrelated, lines)
