"""LangGraph's own store tests (langgraph-checkpoint 4.3.2), run against our stores.

The sdist is fetched with pip at test time into a cache under ``.venv/`` (never
committed), and its ``tests/test_store.py`` runs in a child pytest with
``_langgraph_plugin`` substituting RedisStore / AsyncRedisStore for InMemoryStore.
All 117 must pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

VERSION = "4.3.2"
EXPECTED = 117
CACHE = Path(sys.prefix) / ".cache" / "langmem-ext"
HERE = Path(__file__).resolve().parent


def _suite_dir() -> Path:
    root = CACHE / f"langgraph_checkpoint-{VERSION}"
    if (root / "tests" / "test_store.py").exists():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         f"langgraph-checkpoint=={VERSION}", "-d", str(CACHE)],
        check=True,
        timeout=300,
    )
    with tarfile.open(CACHE / f"langgraph_checkpoint-{VERSION}.tar.gz") as tar:
        tar.extractall(CACHE, filter="data")
    return root


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_langgraph_store_suite_passes(kind: str, redis_server: str) -> None:
    root = _suite_dir()
    env = {
        **os.environ,
        "LANGMEM_EXT_TEST_REDIS_URL": redis_server,
        "LANGMEM_EXT_TEST_STORE": kind,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_store.py", "-q", "-p", "_langgraph_plugin",
         "-p", "no:cacheprovider", "-o", "addopts=", "-o", "asyncio_default_fixture_loop_scope=function", "-rfE"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    tail = (proc.stdout + proc.stderr)[-6000:]
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert proc.returncode == 0, f"LangGraph store tests failed for the {kind} store:\n{tail}"
    assert passed and int(passed.group(1)) == EXPECTED, tail
