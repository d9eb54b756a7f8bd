"""``langgraph dev`` serves our three graphs from langgraph.json, offline, with no API key.

The server runs on loopback in a copy of the project's graphs (so its ``.langgraph_api``
scratch directory lands in a temporary folder); the conversation goes over its HTTP API
with ``langgraph_sdk``, exactly as LangGraph Studio would drive it.
"""

from __future__ import annotations

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

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
USER = "studio-user"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def offline_env(**extra: str) -> dict[str, str]:
    """The environment minus anything that could reach a model or LangSmith."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LANGMEM_EXT_", "LANGSMITH_", "LANGCHAIN_", "ANTHROPIC_"))}
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


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running ``langgraph dev`` server."""
    work = tmp_path_factory.mktemp("studio")
    shutil.copy(ROOT / "langgraph.json", work / "langgraph.json")
    shutil.copytree(ROOT / "graphs", work / "graphs", ignore=shutil.ignore_patterns("__pycache__"))
    port = _free_port()
    log = (work / "server.log").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("langgraph")), "dev", "--no-browser", "--no-reload",
         "--allow-blocking", "--host", "127.0.0.1", "--port", str(port)],  # fmt: skip
        cwd=work,
        env=offline_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited ({proc.returncode}):\n{(work / 'server.log').read_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not answer in 90 s:\n{(work / 'server.log').read_text()[-4000:]}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_langgraph_json_declares_graphs_and_vector_index() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert set(config["graphs"]) == {"chatbot", "agent", "minimal"}
    index = config["store"]["index"]
    assert index["dims"] == 384 and index["fields"] == ["content"]
    path, name = index["embed"].split(".py:")
    assert (ROOT / (path + ".py")).exists() and name


def test_studio_serves_the_three_graphs(studio: str) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=studio)
    graph_ids = {a["graph_id"] for a in client.assistants.search(limit=20)}
    assert {"chatbot", "agent", "minimal"} <= graph_ids


@pytest.mark.parametrize("graph", ["chatbot", "agent", "minimal"])
def test_second_thread_recalls_what_the_first_taught(studio: str, graph: str) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=studio, timeout=120)
    user = f"{USER}-{graph}"
    config = {"configurable": {"user_id": user}}
    first = client.threads.create()
    for text in ("Hi, my name is Maya.", "I live in Porto with my dog Pixel.", "I am learning the guitar."):
        client.runs.wait(first["thread_id"], graph, input={"messages": [{"role": "user", "content": text}]}, config=config)
    deadline = time.monotonic() + 30  # reflection runs in the background, debounced
    while True:
        found = client.store.search_items(("memories", user), query="where does the user live", limit=5)["items"]
        if any("Porto" in json.dumps(item["value"]) for item in found):
            break
        assert time.monotonic() < deadline, f"the fact did not reach the store within 30 s: {found}"
        time.sleep(0.5)
    second = client.threads.create()
    result = client.runs.wait(
        second["thread_id"], graph, input={"messages": [{"role": "user", "content": "Where do I live?"}]}, config=config
    )
    answer = result["messages"][-1]["content"]
    assert "Porto" in answer, answer
    assert len(result["messages"]) < 6  # a new thread: only what recall brought back, not the old history
