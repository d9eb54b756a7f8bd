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


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "langmem_ext.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
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
    assert "does not exist" in capsys.readouterr().out
    data = tmp_path / "l.json"
    data.write_text("[]")
    assert main(["eval", "locomo", str(data), "--k", "5,x"]) == 2
    assert "comma-separated integers" in capsys.readouterr().out
