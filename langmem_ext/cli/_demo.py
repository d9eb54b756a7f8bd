"""``langmem-ext demo``: the bundled three-session conversation through the chatbot graph."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("demo", help="Play the bundled multi-session conversation (offline, no API key).")
    parser.add_argument("--interactive", "-i", action="store_true", help="Chat yourself after the script.")
    parser.add_argument("--sessions", type=int, default=None, help="Play only the first N sessions.")
    parser.add_argument("--quiet", action="store_true", help="Only the summary table and the recall check.")
    parser.add_argument(
        "--conversation", dest="file", default=None,
        help="Another conversation in the bundled format (user_id, sessions[thread, turns], probes).",
    )  # fmt: skip
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from langmem_ext.cli._demo_run import run_demo

    return run_demo(args)
