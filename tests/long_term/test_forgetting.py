from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from langchain_core.messages import HumanMessage

from langmem_ext.long_term import SemanticMemory, from_value, put_memories
from langmem_ext.long_term.forgetting import aforget_user, forget_user, forget_weak, reinforce
from langmem_ext.long_term.recall import RecallNode
from langmem_ext.long_term.schemas import utcnow

SEM = ("memories", "u1", "semantic")
STATS = ("memories", "u1", "access")
CONFIG = {"configurable": {"user_id": "u1"}}


def test_reinforce_bounds():
    assert reinforce(0.0) == 0.5 and reinforce(1.0) == 1.0
    with pytest.raises(ValueError):
        reinforce(0.5, boost=2)


def test_forget_pass_archives_weak_keeps_pinned_and_recalled(store):
    old = utcnow() - timedelta(days=200)
    weak = SemanticMemory(content="User once mentioned a blue kite", updated_at=old)
    pinned = SemanticMemory(content="User is allergic to penicillin", updated_at=old, pinned=True)
    recalled = SemanticMemory(content="User plays the cello", updated_at=old)
    fresh = SemanticMemory(content="User likes rain")
    put_memories(store, SEM, [weak, pinned, recalled, fresh])
    RecallNode(store=store, include_rules=False, quotas={"semantic": 1}, reinforce="inline").recall([HumanMessage("the cello")], config=CONFIG)  # reinforces it
    report = forget_weak(store, [SEM], stats_namespace=STATS, threshold=0.1, half_life=timedelta(days=30))
    assert report.archived == [weak.id] and report.kept_pinned == 1 and report.scanned == 4
    assert from_value(store.get(SEM, weak.id).value).status == "archived"
    assert from_value(store.get(SEM, weak.id).value).history[-1].op == "archive"
    again = forget_weak(store, [SEM], stats_namespace=STATS, threshold=0.1, half_life=timedelta(days=30), action="delete")
    assert again.deleted == [] and store.get(SEM, weak.id) is not None  # archived ones are left alone


def test_forget_pass_delete(store):
    weak = SemanticMemory(content="trivia", updated_at=utcnow() - timedelta(days=400))
    put_memories(store, SEM, [weak])
    assert forget_weak(store, [SEM], action="delete").deleted == [weak.id]
    assert store.get(SEM, weak.id) is None


def test_forget_user_refuses_global_prefix(store):
    with pytest.raises(ValueError, match="every user"):
        forget_user(store, ("memories",))
    with pytest.raises(ValueError, match=r"\('memories', 'maya'\)"):
        forget_user(store, "maya")


def test_forget_user_generic_store(store):
    put_memories(store, SEM, [SemanticMemory(content="a")])
    put_memories(store, ("memories", "u2", "semantic"), [SemanticMemory(content="b")])
    RecallNode(store=store, reinforce="inline").recall([HumanMessage("a")], config=CONFIG)
    assert forget_user(store, ("memories", "u1")) >= 2
    assert store.search(("memories", "u1")) == [] and len(store.search(("memories", "u2"))) == 1


async def test_aforget_user_star_is_one_user_not_a_wildcard():
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore()  # no delete_namespace_prefix: the listing path
    for user in ("*", "alice"):
        put_memories(store, ("memories", user, "semantic"), [SemanticMemory(content=f"{user} fact")])
    assert await aforget_user(store, ("memories", "*")) == 1
    assert [i.value["content"] for i in store.search(("memories",))] == ["alice fact"]


def _keys_mentioning(client, needle: str) -> list[bytes]:
    """Every key whose name or content holds ``needle`` (a full SCAN of the server)."""
    found = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"hash":
            blob = b"".join(k + v for k, v in client.hgetall(key).items())
        elif kind == b"string":
            blob = client.get(key) or b""
        else:
            blob = client.dump(key) or b""
        if needle.encode() in key or needle.encode() in blob:
            found.append(key)
    return found


def test_forget_user_leaves_no_redis_key(redis_url):
    from langmem_ext.store import RedisStore
    from langmem_ext.long_term.testing import HASH_DIMS, hash_embed

    user = "zq9user"
    with RedisStore.from_conn_string(redis_url, index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]}) as store:
        put_memories(store, ("memories", user, "semantic"), [SemanticMemory(content=f"fact {i}") for i in range(5)])
        put_memories(store, ("memories", "other", "semantic"), [SemanticMemory(content="keep me")])
        RecallNode(store=store, reinforce="inline").recall([HumanMessage("fact")], config={"configurable": {"user_id": user}})
        client = redis.Redis.from_url(redis_url)
        assert _keys_mentioning(client, user)  # the check can fail: keys are hashed, so look inside them
        forget_user(store, ("memories", user))
        assert _keys_mentioning(client, user) == []
        assert len(store.search(("memories", "other"))) == 1
        client.close()


async def test_aforget_user(store):
    put_memories(store, SEM, [SemanticMemory(content="a")])
    await aforget_user(store, ("memories", "u1"))
    assert store.search(("memories", "u1")) == []
