"""LangGraph's API server (``langgraph dev``) serves our three graphs on our Redis backends.

Two ways in, both driven over HTTP with ``langgraph_sdk`` exactly as LangGraph Studio
would drive them, offline, with no API key:

* the checkout's ``langgraph.json`` (run in a copy of the project's entry points, so the
  server's ``.langgraph_api`` scratch directory lands in a temporary folder), on
  ``$REDIS_URL``;
* ``langmem-ext studio`` from an unrelated directory with no ``$REDIS_URL``: it starts the
  detached Redis, says so, and its threads and memories survive a restart of the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from langmem_ext.studio import GRAPHS, studio_config

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
USER = "studio-user"
TEACH = ("Hi, my name is Maya.", "I live in Porto with my dog Pixel.", "I am learning the guitar.")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def offline_env(**extra: str) -> dict[str, str]:
    """The environment minus anything that could reach a model or LangSmith (or name a Redis)."""
    drop = ("OPENAI_", "LANGMEM_EXT_", "LANGSMITH_", "LANGCHAIN_", "ANTHROPIC_", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        LANGSMITH_TRACING="false",
        LANGCHAIN_TRACING_V2="false",
        LANGMEM_EXT_OFFLINE="1",
        PYTHONUNBUFFERED="1",
        OPENBLAS_NUM_THREADS="1",  # small embedding batches: one BLAS thread is faster here
        OMP_NUM_THREADS="1",
        **extra,
    )
    return env


@contextlib.contextmanager
def serving(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """Run a server command until it answers ``/ok``; yield its base URL; stop it after."""
    port = _free_port()
    with log.open("a") as out:
        proc = subprocess.Popen(
            [*argv, "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{argv[0]} exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"{argv[0]} did not answer in 90 s:\n{log.read_text()[-4000:]}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # a graceful stop: the server saves its thread list
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _say(client: Any, graph: str, thread_id: str, text: str, user: str) -> dict[str, Any]:
    return client.runs.wait(
        thread_id, graph, input={"messages": [{"role": "user", "content": text}]}, config={"configurable": {"user_id": user}}
    )


def _wait_for_memory(client: Any, user: str, word: str, *, timeout: float = 30.0) -> None:
    """Reflection runs in the background, debounced: wait until ``word`` is in a memory."""
    deadline = time.monotonic() + timeout
    while True:
        found = client.store.search_items(("memories", user), query="where does the user live", limit=5)["items"]
        if any(word in json.dumps(item["value"]) for item in found):
            return
        assert time.monotonic() < deadline, f"{word!r} did not reach the store within {timeout} s: {found}"
        time.sleep(0.5)


# ------------------------------------------------------------ the checkout's langgraph.json


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory, module_redis_url: str) -> Iterator[str]:
    """The base URL of ``langgraph dev`` on the checkout's langgraph.json, with ``REDIS_URL`` set."""
    work = tmp_path_factory.mktemp("studio")
    shutil.copy(ROOT / "langgraph.json", work / "langgraph.json")
    shutil.copytree(ROOT / "graphs", work / "graphs", ignore=shutil.ignore_patterns("__pycache__"))
    argv = [str(BIN / "langgraph"), "dev", "--no-browser", "--no-reload"]
    with serving(argv, cwd=work, env=offline_env(REDIS_URL=module_redis_url), log=work / "server.log") as url:
        yield url


def test_langgraph_json_serves_the_entry_points_on_our_backends() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    expected = studio_config(graphs="checkout", env=".env")
    assert config == expected
    for spec in config["graphs"].values():
        assert (ROOT / spec.split(":")[0]).is_file()
    assert config["checkpointer"]["path"] == "langmem_ext.studio.checkpointer"


def test_studio_serves_the_three_graphs(studio: str) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=studio)
    graph_ids = {a["graph_id"] for a in client.assistants.search(limit=20)}
    assert set(GRAPHS) <= graph_ids


@pytest.mark.parametrize("graph", GRAPHS)
def test_second_thread_recalls_what_the_first_taught(studio: str, module_redis_url: str, graph: str) -> None:
    from langgraph_sdk import get_sync_client

    from langmem_ext.checkpoint import RedisSaver

    client = get_sync_client(url=studio, timeout=120)
    user = f"{USER}-{graph}"
    first = client.threads.create()
    for text in TEACH:
        _say(client, graph, first["thread_id"], text, user)
    _wait_for_memory(client, user, "Porto")
    second = client.threads.create()
    result = _say(client, graph, second["thread_id"], "Where do I live?", user)
    answer = result["messages"][-1]["content"]
    assert "Porto" in answer, answer
    assert len(result["messages"]) < 6  # a new thread: only what recall brought back, not the old history
    with RedisSaver.from_conn_string(module_redis_url) as saver:  # the thread is in our checkpointer
        stored = saver.get_tuple({"configurable": {"thread_id": first["thread_id"], "checkpoint_ns": ""}})
    assert stored is not None
    assert [m.content for m in stored.checkpoint["channel_values"]["messages"] if m.type == "human"] == list(TEACH)


# ------------------------------------------------------- langmem-ext studio, and a restart


def test_langmem_ext_studio_keeps_threads_and_memories_across_a_restart(tmp_path: Path) -> None:
    from langgraph_sdk import get_sync_client

    from langmem_ext.checkpoint import RedisSaver

    anywhere = tmp_path / "somewhere-else"
    anywhere.mkdir()
    home = tmp_path / "home"
    env = offline_env(LANGMEM_EXT_HOME=str(home))
    argv = [str(BIN / "langmem-ext"), "studio", "--no-browser"]
    log = tmp_path / "studio.log"
    user = f"{USER}-restart"

    def cli(*args: str) -> str:
        done = subprocess.run([str(BIN / "langmem-ext"), *args], cwd=anywhere, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    try:
        with serving(argv, cwd=anywhere, env=env, log=log) as url:
            said = log.read_text()
            assert "no REDIS_URL and no detached Redis, so started one at redis://127.0.0.1:" in said, said[-3000:]
            client = get_sync_client(url=url, timeout=120)
            assert set(GRAPHS) <= {a["graph_id"] for a in client.assistants.search(limit=20)}
            first = client.threads.create()["thread_id"]
            for text in TEACH[:2]:
                _say(client, "chatbot", first, text, user)
            _wait_for_memory(client, user, "Porto")
            second = client.threads.create()["thread_id"]
            before = _say(client, "chatbot", second, "Where do I live?", user)["messages"][-1]["content"]
            assert "Porto" in before, before
        assert (home / "studio" / "langgraph.json").is_file() and not (anywhere / ".langgraph_api").exists()

        # between the two servers: the CLI sees what Studio stored, and the threads are in our saver
        listed = cli("memories", "list", "--user", user)
        assert "Porto" in listed, listed
        url = json.loads((home / "redis.json").read_text())
        with RedisSaver.from_conn_string(f"redis://127.0.0.1:{url['port']}") as saver:
            for thread in (first, second):
                assert saver.get_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}}) is not None

        with serving(argv, cwd=anywhere, env=env, log=log) as url:
            assert log.read_text().count("so started one at") == 1  # the second start reused the server
            client = get_sync_client(url=url, timeout=120)
            kept = client.threads.get_state(first)["values"]["messages"]
            assert [m["content"] for m in kept if m["type"] == "human"] == list(TEACH[:2])
            third = client.threads.create()["thread_id"]
            after = _say(client, "chatbot", third, "Where do I live?", user)["messages"][-1]["content"]
            assert "Porto" in after, after
            more = _say(client, "chatbot", first, "I am learning the guitar.", user)["messages"]
            assert len([m for m in more if m["type"] == "human"]) == 3  # the old thread goes on where it was
    finally:
        subprocess.run([str(BIN / "langmem-ext"), "redis", "stop"], env=env, capture_output=True, timeout=60)
