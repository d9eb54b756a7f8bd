"""The ``langmem-ext`` command line, run in-process (``main(argv)``) and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from langmem_ext.cli import main
from langmem_ext.server import detached_status, redis_url, stop_detached


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private LANGMEM_EXT_HOME, with any detached server stopped afterwards."""
    monkeypatch.setenv("LANGMEM_EXT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    yield tmp_path / "home"
    stop_detached()


def _cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess; an ``env`` value of None removes that variable."""
    merged = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "langmem_ext.cli", *args],
        capture_output=True,
        input=stdin,
        text=True,
        timeout=120,
        env={k: v for k, v in merged.items() if v is not None},
        cwd=cwd,
    )


def test_redis_start_outlives_the_cli_and_stop_ends_it(home: Path) -> None:
    env = {"LANGMEM_EXT_HOME": str(home)}
    started = _cli("redis", "start", env=env)
    assert started.returncode == 0, started.stderr
    status = detached_status()
    assert status is not None and status.alive  # the CLI process has exited by now
    assert redis.Redis.from_url(status.url).ping()
    assert redis_url() == status.url  # the library finds the detached server
    again = _cli("redis", "status", env=env)
    assert again.returncode == 0 and status.url in again.stdout
    stopped = _cli("redis", "stop", env=env)
    assert stopped.returncode == 0 and f"port {status.port}" in stopped.stdout
    assert detached_status() is None
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(status.url, socket_connect_timeout=1).ping()


def test_detached_data_survives_stop_and_start(home: Path) -> None:
    assert main(["redis", "start"]) == 0
    first = detached_status()
    redis.Redis.from_url(first.url).set("kept", "yes")
    assert main(["redis", "start"]) == 0 and detached_status().pid == first.pid  # idempotent
    assert main(["redis", "stop"]) == 0
    assert main(["redis", "start"]) == 0
    second = detached_status()
    assert redis.Redis.from_url(second.url).get("kept") == b"yes"


def test_status_and_stop_without_a_server(home: Path, capsys) -> None:
    assert main(["redis", "status"]) == 1
    assert "not running" in capsys.readouterr().out
    assert main(["redis", "stop"]) == 0
    assert "No detached Redis" in capsys.readouterr().out


def test_stale_state_file_is_reported(home: Path, capsys) -> None:
    home.mkdir(parents=True)
    (home / "redis.json").write_text(json.dumps({"pid": 999999, "port": 1, "data_dir": "x"}))
    assert main(["redis", "status"]) == 1
    assert "stale" in capsys.readouterr().out


def test_version_and_unknown_command() -> None:
    result = _cli("--version")
    assert result.returncode == 0 and "langmem-ext 0.1.0" in result.stdout
    bad = _cli("frobnicate")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_eval_rejects_bad_k_and_missing_file(tmp_path, capsys) -> None:
    assert main(["eval", "locomo", str(tmp_path / "nope.json")]) == 2
    assert "does not exist" in capsys.readouterr().err  # errors go to stderr
    data = tmp_path / "l.json"
    data.write_text("[]")
    assert main(["eval", "locomo", str(data), "--k", "5,x"]) == 2
    assert "comma-separated integers" in capsys.readouterr().err


# ----------------------------------------------------------------------------- demo


def test_demo_runs_offline_and_remembers_across_threads(tmp_path: Path) -> None:
    """``make demo`` on a fresh machine: from an empty folder, on its own private Redis, which
    stops when the demo ends; the background work of the last turns runs before that, so
    stderr stays empty (it once held ~1,900 lines of tracebacks against the stopped server)."""
    import re

    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    result = _cli("demo", env={"REDIS_URL": None, "LANGMEM_EXT_HOME": str(home), "LANGMEM_EXT_OFFLINE": "1"}, cwd=cwd)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert result.stderr == "", result.stderr[-3000:]
    assert not any(cwd.iterdir())
    assert out.count("Offline mode:") == 1  # said once, in one line
    assert int(re.search(r"memories stored: (\d+)", out).group(1)) > 0
    context, budget = map(int, re.search(r"context tokens: max (\d+) \(budget (\d+)\)", out).groups())
    assert 0 < context <= budget
    assert int(re.search(r"all sessions: (\d+)", out).group(1)) > budget  # what memory spared the model
    shown = [int(n) for n in re.findall(r"context (\d+) tokens / thread history", out)]
    assert len(shown) == 29 and max(shown) == context  # one line per turn
    assert re.search(r"cross-thread recall: (\d+)/\1\b", out), out[-2000:]
    assert "summary" in out and "recalled" in out and "stored +" in out


def test_demo_plays_another_conversation_and_rejects_a_bad_one(redis_url: str, tmp_path) -> None:
    mine = tmp_path / "conv.json"
    mine.write_text(json.dumps({
        "user_id": "tomas",
        "sessions": [{"thread": "s1", "turns": ["I keep bees on my roof.", "My bees make lavender honey."]}],
        "probes": [{"question": "What do my bees make?", "expect": ["honey"]}],
    }))  # fmt: skip
    env = {"REDIS_URL": redis_url, "LANGMEM_EXT_OFFLINE": "1"}
    result = _cli("demo", "--conversation", str(mine), "--quiet", env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "cross-thread recall: 1/1" in result.stdout and "turns played: 2" in result.stdout
    (tmp_path / "bad.json").write_text(json.dumps({"user_id": "x", "sessions": [{"thread": "t"}]}))
    bad = _cli("demo", "--conversation", str(tmp_path / "bad.json"), env=env)
    assert bad.returncode == 2 and "'turns'" in bad.stderr


def test_interactive_demo_chats_after_the_script(redis_url: str) -> None:
    result = _cli(
        "demo", "--sessions", "1", "--interactive", "--quiet",
        env={"REDIS_URL": redis_url, "LANGMEM_EXT_OFFLINE": "1"},
        stdin="I collect old maps of Portugal.\nWhat do I collect?\n\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "your turn" in result.stdout
    replies = [line for line in result.stdout.splitlines() if line.startswith("bot")]
    assert len(replies) == 2 and "maps" in replies[-1]
    assert "turns played: 12" in result.stdout  # 10 scripted + 2 typed


# ----------------------------------------------------------------------------- eval

TINY_LOCOMO = [
    {
        "sample_id": "cli-1",
        "conversation": {
            "speaker_a": "Rita",
            "speaker_b": "Joao",
            "session_1_date_time": "9:00 am on 2 June, 2023",
            "session_1": [
                {"speaker": "Rita", "dia_id": "D1:1", "text": "I started learning to sail on the Douro river."},
                {"speaker": "Joao", "dia_id": "D1:2", "text": "My cat Miso knocked over a plant again."},
                {"speaker": "Rita", "dia_id": "D1:3", "text": "My brother is moving to Canada in August."},
            ],
        },
        "qa": [
            {"question": "Where is Rita learning to sail?", "answer": "Douro river", "evidence": ["D1:1"], "category": 4},
            {"question": "What is the name of Joao's cat?", "answer": "Miso", "evidence": ["D1:2"], "category": 4},
        ],
        "observation": {},
        "session_summary": {},
        "event_summary": {},
    }
]


def test_eval_locomo_reports_recall_at_k(redis_url, tmp_path, capsys) -> None:
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(TINY_LOCOMO))
    assert main(["--redis-url", redis_url, "eval", "locomo", str(data), "--k", "1,3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_questions"] == 2 and set(result["recall"]) == {"1", "3"}
    assert result["recall"]["3"] == 1.0  # three turns: everything is within k=3
    args = ["--redis-url", redis_url, "eval", "locomo", str(data), "--k", "1", "--mode", "text"]
    assert main([*args, "--json"]) == 0
    at_1 = json.loads(capsys.readouterr().out)["recall"]["1"]
    assert main(args) == 0  # without --json: the human table
    table = capsys.readouterr().out
    with pytest.raises(json.JSONDecodeError):
        json.loads(table)
    assert "mode=text" in table and "R@1" in table and "4 single-hop" in table
    (all_row,) = [line for line in table.splitlines() if " all " in line]
    assert f"{100 * at_1:.1f}" in all_row


def test_eval_locomo_reflection_units_say_which_extractor(redis_url, tmp_path, capsys, monkeypatch) -> None:
    for name in ("LANGMEM_EXT_CHAT_MODEL", "LANGMEM_EXT_MEMORY_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(TINY_LOCOMO))
    args = ["--redis-url", redis_url, "eval", "locomo", str(data), "--k", "1,3", "--units", "reflection"]
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)  # the notice goes to stderr, the JSON stays clean
    assert "offline heuristic extractor" in captured.err
    assert (result["units"], result["facts"], result["extractor"]) == ("reflection", "none", "offline")
    assert result["reflection"]["turns"] == 3 and result["reflection"]["llm_calls"] == 0
    assert result["recall"]["3"] == 1.0
    assert main(args) == 0
    assert "reflection: offline, 1 sessions, 3 turns, 0 LLM calls" in capsys.readouterr().out
    assert main([*args[:-2], "--units", "reflection", "--facts", "dataset"]) == 2
    captured = capsys.readouterr()
    assert "facts='dataset'" in " ".join((captured.out + captured.err).split())


# ----------------------------------------------------------------------------- bench


def test_bench_plots_every_numeric_section(tmp_path, capsys) -> None:
    import shutil

    root = tmp_path / "proj"
    (root / "benchmarks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    shutil.copy(Path(__file__).resolve().parent.parent / "benchmarks" / "_report.py", root / "benchmarks" / "_report.py")
    (root / "benchmarks" / "__init__.py").write_text("")
    (root / "benchmarks" / "tiny.py").write_text(
        "from benchmarks._report import write_section, table\n"
        "write_section('tiny', table(['op', 'ours ms', 'peer ms'], [['put', '0.41 (3.1)', '3.67'], ['get', 0.77, 5.79]]))\n"
        "write_section('words', 'no table here')\n"
    )
    assert main(["bench", "--root", str(root)]) == 0
    doc = (root / "docs" / "benchmarks.md").read_text()
    assert "<!-- BEGIN tiny -->" in doc and "![bench_tiny](img/bench_tiny.png)" in doc
    png = root / "docs" / "img" / "bench_tiny.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (root / "docs" / "img" / "bench_words.png").exists()
    (root / "benchmarks" / "broken.py").write_text("raise SystemExit(3)\n")
    assert main(["bench", "--root", str(root)]) == 2
    assert "broken.py" in capsys.readouterr().err
