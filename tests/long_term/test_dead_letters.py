from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.store.memory import InMemoryStore

from langmem_ext.long_term import forget_user, from_value
from langmem_ext.long_term.dead_letters import (
    MAX_ERROR_CHARS,
    MAX_MESSAGES,
    MAX_PER_NAMESPACE,
    dead_letter,
    list_dead_letters,
    save_dead_letter,
)
from langmem_ext.long_term.executor import ReflectionExecutor
from langmem_ext.long_term.reflection import ReflectionNode
from langmem_ext.long_term.testing import ScriptedChatModel

CONFIG = {"configurable": {"user_id": "u1", "thread_id": "t1"}}
DEAD = ("memories", "u1", "reflection_dead_letters")
SEM = ("memories", "u1", "semantic")
MSGS = [HumanMessage("I like rye bread", id="1"), AIMessage("Noted.", id="2")]


def ops(*operations):
    return {"operations": list(operations)}


def contents(store, ns=SEM):
    return sorted(from_value(i.value).content for i in store.search(ns, limit=50))


def failing(times: int) -> ScriptedChatModel:
    return ScriptedChatModel(responses=[RuntimeError(f"429 rate limited ({i})") for i in range(times)])


RYE = ops({"action": "insert", "kind": "semantic", "memory": {"content": "User likes rye bread"}})


def test_a_failing_model_writes_offline_keeps_a_dead_letter_and_is_retried_later(store):
    model = failing(2)
    executor = ReflectionExecutor(ReflectionNode(model=model), delay=0, max_retries=1, backoff=0)
    executor.submit(MSGS, config=CONFIG, store=store)
    executor.flush(timeout=30)
    # one call and its one retry (the one policy; the executor adds none), then the offline extractor
    assert len(model.calls) == 2 and contents(store) == ["User likes rye bread"]
    # persisted in the store, not only in this executor: a fresh one (another process) sees it
    other = ReflectionExecutor(ReflectionNode(model=model))
    [letter] = other.dead_letters(store)
    assert (letter.thread_id, letter.attempts, letter.configurable) == ("t1", 1, {"user_id": "u1", "thread_id": "t1"})
    assert "RuntimeError: 429 rate limited (1)" in letter.error
    assert [m.id for m in letter.to_messages()] == ["1", "2"] and store.get(DEAD, "t1") is not None
    # still failing: kept, with the new error
    model.responses += [RuntimeError("503 overloaded"), RuntimeError("503 overloaded")]
    assert other.retry_dead_letters(store) == (0, 1)
    [letter] = other.dead_letters(store, config=CONFIG)
    assert letter.attempts == 2 and "503" in letter.error
    # the model recovers: it sees the messages, adds no duplicate, and the entry is gone
    model.responses.append(RYE)
    assert other.retry_dead_letters(store) == (1, 0)
    assert "I like rye bread" in model.calls[-1][-1].content
    assert contents(store) == ["User likes rye bread"] and other.dead_letters(store) == []
    executor.close()


async def test_async_dead_letter_and_retry(store):
    model = failing(2)
    executor = ReflectionExecutor(ReflectionNode(model=model), delay=0, max_retries=1, backoff=0)
    executor.asubmit(MSGS, config=CONFIG, store=store)
    await executor.aflush()
    [letter] = await executor.adead_letters(store, config=CONFIG)
    assert "429" in letter.error and len(letter.messages) == 2
    model.responses.append(ops({"action": "insert", "kind": "semantic", "memory": {"content": "User likes rye"}}))
    assert await executor.aretry_dead_letters(store) == (1, 0)
    assert contents(store) == ["User likes rye", "User likes rye bread"] and await executor.adead_letters(store) == []


def test_dead_letters_of_every_user_are_listed_and_a_thread_has_one_entry(store):
    node = ReflectionNode()
    for n, (user, thread) in enumerate((("u1", "t1"), ("u2", "t9"), ("u1", "t1"))):
        config = {"configurable": {"user_id": user, "thread_id": thread, "__pregel_x": object()}}
        save_dead_letter(store, ("memories", user, "reflection_dead_letters"),
                         dead_letter([HumanMessage(f"{user} {thread}", id=str(n))], config=config, error="boom", attempts=2))
    letters = list_dead_letters(store, node)
    assert sorted((d.configurable["user_id"], d.thread_id) for d in letters) == [("u1", "t1"), ("u2", "t9")]
    [merged] = list_dead_letters(store, node, config=CONFIG)
    assert merged.attempts == 4 and len(merged.messages) == 2  # the second failure merged into the first
    assert "__pregel_x" not in merged.configurable
    forget_user(store, ("memories", "u1"))  # they hold the user's messages: erased with the rest
    assert [d.thread_id for d in list_dead_letters(store, node)] == ["t9"]


def test_dead_letters_are_bounded():
    many = [HumanMessage(f"message {i}", id=str(i)) for i in range(MAX_MESSAGES + 30)]
    letter = dead_letter(many, config=CONFIG, error=RuntimeError("x" * 5000), attempts=1)
    assert len(letter.messages) == MAX_MESSAGES and letter.dropped_messages == 30
    assert letter.to_messages()[-1].id == str(MAX_MESSAGES + 29)  # the newest kept
    assert len(letter.error) == MAX_ERROR_CHARS
    store = InMemoryStore()
    for i in range(MAX_PER_NAMESPACE + 2):
        save_dead_letter(store, DEAD, dead_letter(MSGS, config={"configurable": {"user_id": "u1", "thread_id": f"t{i}"}},
                                                  error="boom", attempts=1))
    kept = {d.thread_id for d in list_dead_letters(store, ReflectionNode())}
    assert len(kept) == MAX_PER_NAMESPACE and "t0" not in kept and "t1" not in kept and f"t{MAX_PER_NAMESPACE + 1}" in kept


class _Outage(InMemoryStore):
    """An in-process store that can be switched off (stands in for a store that is down)."""

    down = False

    def batch(self, ops):
        if self.down:
            raise ConnectionError("store is down")
        return super().batch(ops)


def test_a_dead_letter_the_store_refuses_is_kept_in_process_until_retried():
    store = _Outage()
    store.down = True
    model = ScriptedChatModel(responses=[RYE])
    executor = ReflectionExecutor(ReflectionNode(model=model, retries=0), delay=0, max_retries=0, backoff=0)
    executor.submit(MSGS, config=CONFIG, store=store)
    executor.flush(timeout=30)
    store.down = False
    [letter] = executor.dead_letters(store, config=CONFIG)  # held by the executor: the store had refused it
    assert "store is down" in letter.error and store.search(DEAD) == []
    assert executor.retry_dead_letters(store) == (1, 0)
    assert contents(store) == ["User likes rye bread"] and executor.dead_letters(store) == []
    executor.close()
