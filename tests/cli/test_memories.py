"""``langmem-ext memories ...`` over the service layer, in-process (``main(argv)``) and as a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from langmem_ext.cli import main
from langmem_ext.cli._stores import open_store
from langmem_ext.service import MemoryService


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No REDIS_URL and an empty LANGMEM_EXT_HOME unless a test sets them."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("LANGMEM_EXT_HOME", str(tmp_path / "home"))
    return {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"COLUMNS": "80"}


@pytest.fixture
def svc(redis_url: str):
    """Memories of two users written through the service, on the store the CLI opens."""
    with open_store(redis_url) as store:
        service = MemoryService(store)
        service.add("maya", kind="semantic", content="Maya lives in Porto")
        service.add("maya", kind="semantic", content="Maya's dog is called Pixel")
        service.add("maya", kind="procedural", content="Answer in short bullet points")
        service.reflect("maya", [{"role": "assistant", "content": "Hello!", "id": "a0"}])  # a reflection cursor
        service.add("omar", kind="semantic", content="Omar lives in Cairo")
        yield service
        service.flush()


def _cli(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "langmem_ext.cli", *args], capture_output=True, input=stdin,
                          text=True, timeout=180, env=env)


def _rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_list_shows_whole_ids_that_show_accepts(svc, redis_url, capsys) -> None:
    assert main(["memories", "list", "--user", "maya", "--redis-url", redis_url]) == 0  # the option after the command
    table = capsys.readouterr().out
    ids = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", table)
    assert len(ids) == 3 and "Porto" in table and "Cairo" not in table  # cursors are not memories
    for memory_id in ids:
        assert main(["memories", "show", memory_id, "--user", "maya", "--redis-url", redis_url]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["id"] == memory_id and shown["history"][0]["op"] == "insert"
    assert main(["--redis-url", redis_url, "memories", "list", "--json"]) == 0  # every user
    assert {r["user_id"] for r in _rows(capsys.readouterr().out)} == {"maya", "omar"}


def test_list_pages_with_a_cursor(svc, redis_url, capsys) -> None:
    assert main(["memories", "list", "--user", "maya", "--limit", "2", "--json", "--redis-url", redis_url]) == 0
    out = capsys.readouterr()
    first = [r["id"] for r in _rows(out.out)]
    cursor = re.search(r"--cursor (\S+)", out.err).group(1)
    assert main(["memories", "list", "--user", "maya", "--limit", "2", "--cursor", cursor, "--json", "--redis-url", redis_url]) == 0
    rest = [r["id"] for r in _rows(capsys.readouterr().out)]
    assert len(first) == 2 and len(rest) == 1 and not set(first) & set(rest)


def test_search_shows_score_parts(svc, redis_url, capsys) -> None:
    assert main(["memories", "search", "which pet does she have", "--user", "maya", "--json", "--redis-url", redis_url]) == 0
    hits = _rows(capsys.readouterr().out)
    assert "Pixel" in hits[0]["memory"]["content"]
    assert set(hits[0]["score"]) >= {"total", "relevance", "recency", "importance", "strength"}
    assert main(["memories", "search", "pet", "--user", "maya", "--redis-url", redis_url]) == 0
    assert "relevance 0." in capsys.readouterr().out
    assert main(["memories", "search", "  ", "--user", "maya", "--redis-url", redis_url]) == 2
    assert "Empty query" in capsys.readouterr().err


def test_add_update_pin_show_delete(svc, redis_url, capsys) -> None:
    url = ["--redis-url", redis_url]
    assert main(["memories", "add", "Maya plays the cello", "--user", "maya", "--importance", "8", "--json", *url]) == 0
    added = json.loads(capsys.readouterr().out)["memory"]
    assert added["importance"] == 8
    assert main(["memories", "update", added["id"], "--user", "maya", "--text", "Maya plays the viola", *url]) == 0
    assert "Updated" in capsys.readouterr().out
    assert main(["memories", "pin", f"memories/maya/semantic", added["id"], *url]) == 0  # NAMESPACE ID form
    capsys.readouterr()
    assert main(["memories", "show", added["id"], "--user", "maya", *url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["pinned"] and [h["op"] for h in shown["history"]] == ["insert", "update", "update"]
    assert shown["history"][1]["old"] == "Maya plays the cello"
    assert main(["memories", "delete", added["id"], "--user", "omar", *url]) == 2  # another user's id: not found
    assert "No memory" in capsys.readouterr().err
    assert main(["memories", "delete", added["id"], "--user", "maya", *url]) == 0
    assert main(["memories", "show", added["id"], "--user", "maya", *url]) == 2
    assert main(["memories", "show", added["id"], *url]) == 2
    assert "--user" in capsys.readouterr().err
    assert main(["memories", "show", "memories//x", "k", *url]) == 2


def test_users_and_stats(svc, redis_url, capsys) -> None:
    assert main(["memories", "users", "--json", "--redis-url", redis_url]) == 0
    users = {u["user_id"]: u for u in _rows(capsys.readouterr().out)}
    assert users["maya"]["counts"] == {"semantic": 2, "procedural": 1} and users["maya"]["internal"] == 1
    assert main(["memories", "stats", "--user", "maya", "--redis-url", redis_url]) == 0
    out = capsys.readouterr().out
    assert "3 memories" in out and "forgetting" in out


def test_forget_user_needs_yes_without_a_terminal(svc, redis_url, env) -> None:
    env = env | {"REDIS_URL": redis_url}
    refused = _cli("memories", "forget-user", "maya", env=env, stdin="n\n")
    assert refused.returncode == 2 and "--yes" in refused.stderr and "Traceback" not in refused.stderr
    assert svc.list_memories("maya").memories  # nothing erased
    done = _cli("memories", "forget-user", "maya", "--yes", env=env)
    assert done.returncode == 0 and "SCAN finds none left" in done.stdout
    assert svc.list_memories("maya").memories == [] and svc.list_memories("omar").memories


def test_export_redirected_to_a_file_imports_back(svc, redis_url, env, tmp_path) -> None:
    env = env | {"REDIS_URL": redis_url}
    exported = _cli("memories", "export", "--user", "maya", env=env)
    assert exported.returncode == 0, exported.stderr
    assert "Exported 3 memories and 1 bookkeeping records" in exported.stderr  # a cursor is no memory
    dump = tmp_path / "maya.jsonl"
    dump.write_text(exported.stdout)  # what `export > maya.jsonl` writes: the records only
    assert len(_rows(exported.stdout)) == 4 and len(exported.stdout.splitlines()) == 4
    svc.forget_user("maya")
    imported = _cli("memories", "import", str(dump), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "Imported 3 memories and 1 bookkeeping records for 'maya'" in imported.stdout
    assert "Pixel" in svc.search("maya", "pet dog")[0].memory.content  # embedded again


def test_private_redis_note_goes_to_stderr(env) -> None:
    result = _cli("memories", "export", env=env)
    assert result.returncode == 0 and result.stdout == ""
    assert "empty private Redis" in result.stderr


def test_import_fills_in_a_bare_memory_and_says_so(redis_url, tmp_path, capsys) -> None:
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps({"namespace": ["memories", "zoe", "semantic"], "key": "j1", "value": {"content": "likes jazz"}}) + "\n")
    assert main(["memories", "import", str(bare), "--redis-url", redis_url]) == 0
    out = capsys.readouterr()
    assert "Imported 1 memories" in out.out and "filled in missing fields of 1 memories" in out.err and "line 1" in out.err
    assert main(["memories", "search", "jazz music", "--user", "zoe", "--json", "--redis-url", redis_url]) == 0
    assert _rows(capsys.readouterr().out)[0]["memory"]["id"] == "j1"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"namespace": ["memories", "zoe", "semantic"], "key": "j2", "value": {"content": "x"}})
                   + "\n" + '{"namespace": "memories", "key": "z2", "value": {}}\n')
    assert main(["memories", "import", str(bad), "--redis-url", redis_url]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:2" in err and "nothing was imported" in err


def test_one_line_errors_instead_of_tracebacks(redis_url, env, tmp_path) -> None:
    cases = [
        (["memories", "list", "--limit", "-1"], {}, "must be a whole number"),
        (["memories", "list"], {"REDIS_URL": "http://localhost:6379"}, "REDIS_URL 'http://localhost:6379' is not a Redis URL"),
        (["memories", "list", "--redis-url", "localhost:6379"], {}, "--redis-url 'localhost:6379' is not a Redis URL"),
        (["memories", "import", str(tmp_path)], {"REDIS_URL": redis_url}, "is a directory"),
        (["memories", "export", "-o", str(tmp_path / "missing" / "f.jsonl")], {"REDIS_URL": redis_url}, "does not exist"),
        (["memories", "list", "--redis-url", "redis://127.0.0.1:1"], {}, "Cannot reach Redis"),
    ]
    for argv, extra, message in cases:
        result = _cli(*argv, env=env | extra)
        assert result.returncode == 2, (argv, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, (argv, result.stderr)
        assert len([line for line in result.stderr.splitlines() if "error" in line]) == 1
    assert not (tmp_path / "missing").exists()


def test_the_store_needs_redisearch_only(env, tmp_path) -> None:
    """One truth on RedisJSON: the store does not use it, and the CLI does not ask for it."""
    from langmem_ext.server import EmbeddedRedis, find_binaries

    search_only = [m for m in find_binaries().modules if m.name == "redisearch.so"]
    os.environ["LANGMEM_EXT_REDIS_MODULES"] = str(search_only[0])
    try:
        with EmbeddedRedis() as server:
            result = _cli("memories", "add", "Tess likes maps", "--user", "tess", "--redis-url", server.url, env=env)
            listed = _cli("memories", "list", "--user", "tess", "--redis-url", server.url, env=env)
    finally:
        del os.environ["LANGMEM_EXT_REDIS_MODULES"]
    assert result.returncode == 0, result.stderr
    assert listed.returncode == 0 and "Tess likes maps" in listed.stdout
