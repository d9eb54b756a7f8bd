"""The demo: the bundled conversation through the ``chatbot`` graph, turn by turn.

For each turn it shows the reply, the tokens that reached the model against the whole
history, the running summary when it changes, what recall brought back and what
reflection stored. Then it opens a new thread and asks the probe questions: the
answers can only come from long-term memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from langmem_ext.cli._common import CliError, check_redis, console, redis_for

CONTEXT_BUDGET = 600
"""Token budget of the chatbot's model input in the demo (small, to show it at work)."""


def load_conversation(path: str | Path | None = None) -> dict[str, Any]:
    """The bundled demo conversation (or another file in the same format).

    Example:
        >>> data = load_conversation()
        >>> len(data["sessions"]), sum(len(s["turns"]) for s in data["sessions"]) >= 20
        (3, True)
    """
    if path is None:
        text = resources.files("langmem_ext.data").joinpath("demo_conversation.json").read_text()
    elif not Path(path).exists():
        raise CliError(f"{path} does not exist; pass a conversation file in the demo's format.")
    else:
        text = Path(path).read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{path} is not JSON ({exc.msg} at line {exc.lineno}).") from exc
    sessions = data.get("sessions") if isinstance(data, dict) else None
    if not sessions or not data.get("user_id") or not all(s.get("thread") and s.get("turns") for s in sessions):
        raise CliError(
            f"{path or 'demo_conversation.json'} needs 'user_id' and 'sessions', each with a 'thread' "
            "and a list of 'turns' (see langmem_ext/data/demo_conversation.json)."
        )
    return data


@dataclass
class DemoStats:
    """What the demo measured, printed at the end (and checked by the tests)."""

    turns: int = 0
    max_context_tokens: int = 0
    max_history_tokens: int = 0
    all_tokens: int = 0
    """Tokens of every message of every session so far (what a model without memory would need)."""
    memories: int = 0
    probes_passed: int = 0
    probes: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def _snapshot(store: Any, user: str) -> dict[str, tuple[str, str]]:
    """key -> (kind, content) of every memory of ``user``."""
    items = [i for i in store.search(("memories", user), limit=1000) if "kind" in i.value]
    return {f"{'/'.join(i.namespace)}/{i.key}": (str(i.value.get("kind", i.namespace[-1])), str(i.value.get("content", ""))) for i in items}


def _diff(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]]) -> list[str]:
    lines = []
    for key, (kind, content) in after.items():
        if key not in before:
            lines.append(f"+ [{kind}] {content}")
        elif before[key] != (kind, content):
            lines.append(f"~ [{kind}] {content}")
    lines += [f"- [{before[key][0]}] {before[key][1]}" for key in before if key not in after]
    return lines


def recalled_lines(block: str) -> list[str]:
    """The memory lines of a recall block, as plain text.

    Example:
        >>> recalled_lines('<memories>\\n- [semantic] "User lives in Porto"\\n</memories>')
        ['[semantic] User lives in Porto']
    """
    out = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("- "):
            out.append(line[2:].replace('"', "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    return out


def _short(text: str, width: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _turn(graph: Any, store: Any, text: str, config: dict[str, Any], user: str, *, stats: DemoStats, quiet: bool, last_summary: list[str]) -> str:
    from langchain_core.messages import HumanMessage

    from langmem_ext.short_term import MessageTokenCounter

    before = _snapshot(store, user)
    state = graph.invoke({"messages": [HumanMessage(text)]}, config)
    from langmem_ext.graphs.chatbot import wait_for_reflection
    from langmem_ext.llm import default_policy

    policy = default_policy()  # a reflection takes at most a request, its retries and one repair
    try:
        wait_for_reflection(graph, timeout=policy.timeout * (policy.retries + 2) + 10)
    except TimeoutError:  # a slow model: the reflection goes on in the background, the demo too
        console().print("     [dim]reflection still running in the background (slow model)[/]")
    after = _snapshot(store, user)
    reply = str(state["messages"][-1].content)
    counter = MessageTokenCounter(tokenizer_model="gpt-4o-mini")
    history_tokens = counter(state["messages"])
    context_tokens = int(state.get("context_tokens") or 0)
    stats.turns += 1
    stats.max_context_tokens = max(stats.max_context_tokens, context_tokens)
    stats.max_history_tokens = max(stats.max_history_tokens, history_tokens)
    stats.all_tokens += counter(state["messages"][-2:]) - 3  # this turn's two messages (no reply priming)
    if quiet:
        return reply
    out = console()
    out.print(f"[bold cyan]you[/]  {text}")
    out.print(f"[bold green]bot[/]  {_short(reply, 300)}")
    out.print(
        f"     [dim]context {context_tokens} tokens / thread history {history_tokens} tokens / "
        f"all sessions {stats.all_tokens} tokens (budget {CONTEXT_BUDGET})[/]"
    )
    summary = (state.get("running_summary") or {}).get("text", "")
    if summary and summary != last_summary[0]:
        out.print(f"     [magenta]summary[/] {_short(summary)}")
        last_summary[0] = summary
    from langmem_ext.graphs.chatbot import recalled_block

    for line in recalled_lines(recalled_block(state)):
        out.print(f"     [blue]recalled[/] {_short(line, 140)}")
    for line in _diff(before, after):
        out.print(f"     [yellow]stored[/] {_short(line, 140)}")
    return reply


def run_demo(args: argparse.Namespace) -> int:
    """Play the conversation; exit code 0 only if every probe was answered from memory."""
    from langmem_ext.graphs.chatbot import build_graph
    from langmem_ext.graphs.common import models, redis_backends, thread_config

    started = time.perf_counter()
    out = console()
    data = load_conversation(getattr(args, "file", None))
    sessions = data["sessions"][: args.sessions] if args.sessions else data["sessions"]
    out.print(models().description)
    run = uuid.uuid4().hex[:6]
    user = f"{data['user_id']}-{run}"
    stats = DemoStats()
    with redis_for(args.redis_url) as url:
        check_redis(url)
        out.print(f"Redis: {url}   user: {user}")
        with redis_backends(url) as (saver, store):
            graph = build_graph(checkpointer=saver, store=store, context_budget=CONTEXT_BUDGET)
            last_summary = [""]
            for number, session in enumerate(sessions, 1):
                out.rule(f"session {number}: {session.get('title', '')}  (thread {session['thread']})")
                config = thread_config(f"{session['thread']}-{run}", user_id=user)
                for text in session["turns"]:
                    _turn(graph, store, text, config, user, stats=stats, quiet=args.quiet, last_summary=last_summary)
            stats.memories = len(_snapshot(store, user))
            if len(sessions) == len(data["sessions"]):
                _probe(graph, store, data.get("probes", []), user, run, stats)
            else:
                out.print(f"(cross-thread questions skipped: {len(sessions)} of {len(data['sessions'])} sessions played)")
            if args.interactive:
                _interactive(graph, store, user, run, stats)
    stats.seconds = time.perf_counter() - started
    _report(stats)
    return 0 if stats.probes_passed == stats.probes and stats.memories > 0 else 1


def _probe(graph: Any, store: Any, probes: list[dict[str, Any]], user: str, run: str, stats: DemoStats) -> None:
    from langchain_core.messages import HumanMessage
    from rich.table import Table

    from langmem_ext.graphs.chatbot import recalled_block
    from langmem_ext.graphs.common import thread_config

    out = console()
    out.rule("a new thread: what does it remember?")
    table = Table(show_lines=False)
    for column in ("question", "answer", "expected", "ok"):
        table.add_column(column, overflow="fold")
    for number, probe in enumerate(probes):
        config = thread_config(f"probe-{number}-{run}", user_id=user)
        state = graph.invoke({"messages": [HumanMessage(probe["question"])]}, config)
        answer = str(state["messages"][-1].content)
        block = recalled_block(state).lower()
        ok = all(word.lower() in answer.lower() for word in probe["expect"]) and all(
            word.lower() in block for word in probe.get("recall", []))  # what the model was shown
        stats.probes += 1
        stats.probes_passed += ok
        if not ok:
            stats.failures.append(probe["question"])
        expected = ", ".join(probe["expect"]) + "".join(f"; recalled: {w}" for w in probe.get("recall", []))
        table.add_row(probe["question"], _short(answer, 200), expected, "✓" if ok else "✗")
    out.print(table)


def _interactive(graph: Any, store: Any, user: str, run: str, stats: DemoStats) -> None:
    from langmem_ext.graphs.common import thread_config

    out = console()
    out.rule("your turn (empty line or Ctrl-D to stop)")
    config = thread_config(f"interactive-{run}", user_id=user)
    last_summary = [""]
    while True:
        try:
            text = input("you> ").strip() if sys.stdin.isatty() else sys.stdin.readline().strip()
        except EOFError:
            break
        if not text:
            break
        _turn(graph, store, text, config, user, stats=stats, quiet=False, last_summary=last_summary)


def _report(stats: DemoStats) -> None:
    out = console()
    out.rule("result")
    out.print(f"turns played: {stats.turns}")
    out.print(f"memories stored: {stats.memories}")
    out.print(
        f"context tokens: max {stats.max_context_tokens} (budget {CONTEXT_BUDGET}); "
        f"thread history: max {stats.max_history_tokens}; all sessions: {stats.all_tokens}"
    )
    out.print(f"cross-thread recall: {stats.probes_passed}/{stats.probes}")
    out.print(f"time: {stats.seconds:.1f} s")
    from langmem_ext.llm import fallback_line, snapshot

    calls = snapshot()
    if calls.requests:  # a model is configured: say what its calls did, fallbacks included
        out.print(fallback_line(calls), markup=False)
    if stats.failures:
        out.print(f"[red]not recalled:[/] {'; '.join(stats.failures)}")
