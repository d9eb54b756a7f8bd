"""Queries that run out of time fail loudly instead of returning partial results.

RediSearch 2.10.5 (ON_TIMEOUT return, its default) answers a timed-out query with
partial results; the tests build an index big enough that a 1 ms timeout always
fires, so without the store's handling the searches below would quietly return
the wrong items.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis

from langmem_ext.connection import aconnect, connect
from langmem_ext.store import AsyncRedisStore, RedisStore, SearchTimeoutError
from langmem_ext.store._resp import Pipe
from langmem_ext.store._timeout import speaks_resp3, timed_out, with_query_timeout

CLONES = 40_000


def _fill(client: redis.Redis, store: RedisStore) -> list[str]:
    """CLONES items under ("u",), written as raw hashes (a store put each would take ~40 s);
    returns the keys of the 5 newest, which a complete ``search`` must return."""
    store.put(("u",), "seed", {"text": "x"})
    (seed,) = [k for k in client.scan_iter(match=f"{store.prefix}:i:*".encode()) if client.hget(k, "k") == b"seed"]
    fields = client.hgetall(seed)
    newer = int(fields[b"u"]) + 1
    pipe = client.pipeline(transaction=False)
    for i in range(CLONES):
        pipe.hset(seed + b":c%d" % i, mapping={**fields, b"k": b"c%d" % i, b"u": str(newer + i).encode()})
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    return [f"c{i}" for i in range(CLONES - 1, CLONES - 6, -1)]


@pytest.fixture(scope="module")
def big(redis_server: str) -> Any:
    client = connect(redis_server)
    store = RedisStore(client, key_prefix="bigtimeout")
    store.setup()
    newest = _fill(client, store)
    yield newest
    store.delete_namespace_prefix(("u",))
    client.close()


async def test_a_query_that_runs_out_of_time_raises(big, redis_server):
    for cls in (RedisStore, AsyncRedisStore):
        client = aconnect(redis_server) if cls is AsyncRedisStore else connect(redis_server)
        store = cls(client, key_prefix="bigtimeout", query_timeout=0.001)
        with pytest.raises(SearchTimeoutError, match="1 ms timeout twice.*query_timeout="):
            await store.asearch(("u",), limit=5) if cls is AsyncRedisStore else store.search(("u",), limit=5)
        patient = cls(client, key_prefix="bigtimeout", query_timeout=None)  # control: complete results
        hits = await patient.asearch(("u",), limit=5) if cls is AsyncRedisStore else patient.search(("u",), limit=5)
        assert [h.key for h in hits] == big
        await client.aclose() if cls is AsyncRedisStore else client.close()


def test_resp2_clients_get_complete_results_since_a_timeout_would_be_invisible(big, redis_server):
    client = connect(redis_server, protocol=2)
    assert not speaks_resp3(client)
    store = RedisStore(client, key_prefix="bigtimeout", query_timeout=0.001)
    assert [h.key for h in store.search(("u",), limit=5)] == big
    client.close()


def test_on_timeout_fail_servers_raise_the_same_error(big, redis_server):
    client = connect(redis_server)
    client.execute_command("FT.CONFIG", "SET", "ON_TIMEOUT", "fail")
    try:
        with pytest.raises(SearchTimeoutError):
            RedisStore(client, key_prefix="bigtimeout", query_timeout=0.001).search(("u",), limit=5)
    finally:
        client.execute_command("FT.CONFIG", "SET", "ON_TIMEOUT", "return")
        client.close()


def test_timeout_helpers():
    req = Pipe([("FT.AGGREGATE", "i", "*"), ("HGET", "k", "f")])
    assert with_query_timeout(req, 0).cmds == [("FT.AGGREGATE", "i", "*", "TIMEOUT", "0"), ("HGET", "k", "f")]
    assert with_query_timeout(Pipe([("HGET", "k", "f")]), 5).cmds == [("HGET", "k", "f")]
    assert timed_out(req, [redis.ResponseError("Timeout limit was reached"), None])
    assert not timed_out(req, [{b"total_results": 1, b"warning": []}, None])
    assert not timed_out(req, [None, {b"warning": [b"Timeout limit was reached"]}])  # not a query's reply
    assert speaks_resp3(redis.Redis(protocol=3)) and not speaks_resp3(redis.Redis(protocol=2))


@pytest.mark.parametrize("bad", [0, -5, -0.5, True])
def test_query_timeout_must_be_positive(bad):
    with pytest.raises(ValueError, match="RedisStore: query_timeout must be > 0"):
        RedisStore(redis.Redis(), query_timeout=bad)  # checked before any I/O


def test_the_deprecated_names_still_work_and_say_so():
    with pytest.warns(DeprecationWarning, match="query_timeout_ms"):
        store = RedisStore(redis.Redis(), query_timeout_ms=1500)
    assert store.query_timeout == 1.5
    with pytest.warns(DeprecationWarning, match=r"prefix=\.\.\.\) is deprecated; use key_prefix"):
        assert RedisStore(redis.Redis(), prefix="old").key_prefix == "old"
    with pytest.raises(ValueError, match="query_timeout_ms must be a positive int"), pytest.warns(DeprecationWarning):
        RedisStore(redis.Redis(), query_timeout_ms=0)
    with pytest.raises(TypeError, match="key_prefix= only"):
        RedisStore(redis.Redis(), prefix="a", key_prefix="b")
