"""The scripts in examples/ run offline against the session's Redis and say what they should."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, redis_url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LANGMEM_EXT_"))}
    env.update(REDIS_URL=redis_url, LANGMEM_EXT_OFFLINE="1", OPENBLAS_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script)], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_quickstart_remembers_across_threads(redis_url: str) -> None:
    out = _run("quickstart.py", redis_url)
    friday = [line for line in out.splitlines() if line.startswith("[friday] bot:")]
    assert len(friday) == 2 and "Utrecht" in friday[0] and "shellfish" in friday[1]


def test_async_chatbot_remembers_across_threads(redis_url: str) -> None:
    out = _run("async_chatbot.py", redis_url)
    answer = next(line for line in out.splitlines() if line.startswith("[b] bot:"))
    assert "Ghent" in answer and "tokens in context" in answer
