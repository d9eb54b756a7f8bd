"""``langmem-ext studio``: LangGraph's dev server on the bundled graphs and our Redis, from any directory.

It writes a ``langgraph.json`` (:func:`langmem_ext.studio.studio_config`) into
``$LANGMEM_EXT_HOME/studio/`` and runs ``langgraph dev`` there, so the server's own
bookkeeping (``.langgraph_api/``: thread list, runs) persists in one place while the
threads' checkpoints and the memories live in Redis.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

from langmem_ext.cli._common import CliError

_NEEDS_EXTRA = (
    "`langmem-ext studio` runs LangGraph's dev server, which is not installed: "
    "pip install 'langmem-ext[studio]' (it brings langgraph-cli[inmem])"
)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "studio",
        help="Serve the bundled graphs to LangGraph Studio (`langgraph dev`), with threads and memories in Redis.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default: loopback).")
    parser.add_argument("--port", type=int, default=2024, help="Port (default: 2024, as `langgraph dev`).")
    parser.add_argument("--no-browser", action="store_true", help="Do not open Studio in a browser.")
    parser.add_argument(
        "langgraph_args",
        nargs=argparse.REMAINDER,
        help="After `--`: more `langgraph dev` options (e.g. -- --tunnel).",
    )
    parser.set_defaults(handler=_run)


def langgraph_command() -> list[str]:
    """How to run ``langgraph`` from this environment; :class:`CliError` if it is missing."""
    if importlib.util.find_spec("langgraph_cli") is None or importlib.util.find_spec("langgraph_api") is None:
        raise CliError(_NEEDS_EXTRA)
    beside = Path(sys.executable).with_name("langgraph")
    found = str(beside) if beside.exists() else shutil.which("langgraph")
    if found is None:
        raise CliError(_NEEDS_EXTRA)
    return [found]


def write_config(folder: Path, *, env_file: Path | None) -> Path:
    """Write the served ``langgraph.json`` into ``folder`` (atomically) and return its path."""
    from langmem_ext.studio import studio_config

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "langgraph.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(studio_config(env=str(env_file) if env_file else None), indent=2) + "\n")
    tmp.replace(path)
    return path


def _run(args: argparse.Namespace) -> int:
    from langmem_ext.server import EmbeddedRedisError, state_dir
    from langmem_ext.studio import GRAPHS, server_url

    command = langgraph_command()
    if args.redis_url:
        url = args.redis_url
    else:
        try:
            url = server_url()  # $REDIS_URL, else the detached server (started, and logged, if absent)
        except EmbeddedRedisError as exc:
            raise CliError(str(exc)) from exc
    folder = state_dir() / "studio"
    env_file = Path.cwd() / ".env"
    config = write_config(folder, env_file=env_file if env_file.is_file() else None)
    extra = [a for a in args.langgraph_args if a != "--"]
    argv = [*command, "dev", "--config", str(config), "--host", args.host, "--port", str(args.port), "--no-reload"]
    argv += ["--no-browser"] if args.no_browser else []
    sys.stderr.write(
        f"langmem-ext studio: serving {', '.join(GRAPHS)} with threads and memories in {url}; "
        f"server state in {folder}{'; reading ' + str(env_file) if env_file.is_file() else ''}\n"
    )
    sys.stderr.flush()
    env = {**os.environ, "REDIS_URL": url}
    env.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
    os.chdir(folder)
    os.execve(argv[0], argv + extra, env)  # becomes the server: Ctrl-C and signals reach it directly
    return 0  # pragma: no cover - execve does not return
