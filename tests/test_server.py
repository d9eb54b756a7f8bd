from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import redis

from langmem_ext.server import EmbeddedRedis, EmbeddedRedisError, redis_url


def test_embedded_redis_has_search_and_json(redis_modules: set[str]) -> None:
    assert {"search", "rejson"} <= redis_modules


def test_embedded_redis_is_redis_8(redis_client: redis.Redis) -> None:
    major = int(str(redis_client.info("server")["redis_version"]).split(".")[0])
    assert major >= 8


def test_binds_loopback_only() -> None:
    with EmbeddedRedis() as server:
        client = redis.Redis.from_url(server.url)
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        assert client.config_get("appendonly")["appendonly"] == "no"
        client.close()
    assert not server.running()


def test_data_dir_turns_on_aof_and_survives_restart(tmp_path) -> None:
    server = EmbeddedRedis(data_dir=tmp_path, appendfsync="always")
    with server:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        server.kill()
        server.restart()
        client = redis.Redis.from_url(server.url)
        assert client.get("k") == b"v"
        client.close()


def test_bad_appendfsync_is_rejected() -> None:
    with pytest.raises(ValueError, match="appendfsync"):
        EmbeddedRedis(appendfsync="sometimes")


def test_missing_binary_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("LANGMEM_EXT_REDIS_SERVER", str(tmp_path / "nope"))
    with pytest.raises(EmbeddedRedisError, match="REDIS_URL"):
        EmbeddedRedis().start()


def test_crashing_binary_reports_its_log(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    bad = tmp_path / "redis-server"
    bad.write_text("#!/bin/sh\necho 'boom: cannot start'\nexit 3\n")
    bad.chmod(0o755)
    monkeypatch.setenv("LANGMEM_EXT_REDIS_SERVER", str(bad))
    with pytest.raises(EmbeddedRedisError, match="boom: cannot start"):
        EmbeddedRedis().start()


def test_redis_url_prefers_explicit_then_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:1")
    assert redis_url("redis://x:2") == "redis://x:2"
    assert redis_url() == "redis://example.invalid:1"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): check its state
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_no_orphan_when_parent_is_killed() -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from langmem_ext.server import EmbeddedRedis
        s = EmbeddedRedis().start()
        print(s.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    assert _alive(pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the embedded redis-server outlived its killed parent"


def test_overwritten_documents_leave_the_text_statistics_within_seconds(redis_url: str) -> None:
    """RediSearch counts overwritten documents in BM25's IDF until its GC runs (default:
    30 s, once 100 are pending). Four overwrites of 8 documents sent every score to 0 with
    the defaults; the embedded server collects after one pending document, every 2 s."""
    client = redis.Redis.from_url(redis_url, protocol=2)
    client.execute_command("FT.CREATE", "gc-test", "ON", "HASH", "PREFIX", "1", "gc:", "SCHEMA", "t", "TEXT")

    def score() -> float:
        reply = client.execute_command("FT.SEARCH", "gc-test", "apple", "WITHSCORES", "SCORER", "BM25", "LIMIT", "0", "1")
        return float(reply[2])

    for _ in range(5):
        for i in range(8):
            client.hset(f"gc:{i}", "t", ("apple " if i < 2 else "pear ") + f"banana doc{i}")
    assert score() == 0.0  # the stale copies make "apple" look common: IDF 0
    deadline = time.monotonic() + 15
    while score() == 0.0 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert score() > 0.0
