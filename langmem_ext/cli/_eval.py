"""``langmem-ext eval locomo FILE``: retrieval recall@k on LoCoMo through our store.

A thin wrapper over ``langmem_ext.long_term.eval.run_locomo_eval``; the dataset file is
the user's own copy of LoCoMo (``locomo10.json``), never downloaded here. Prints the
recall table per category (``print_locomo_report``), or the raw result with ``--json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from langmem_ext.cli._common import CliError, check_redis, console, redis_for


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("eval", help="Evaluate memory retrieval on a benchmark (LoCoMo).")
    suites = parser.add_subparsers(dest="suite", metavar="SUITE")
    suites.required = True
    locomo = suites.add_parser("locomo", help="Evidence recall@k on a LoCoMo JSON file.")
    locomo.add_argument("file", help="Path to locomo10.json (or a subset in the same format).")
    locomo.add_argument("--k", default="5,10,25,50", help="Comma-separated cut-offs (default 5,10,25,50).")
    locomo.add_argument("--mode", default=None, help="Retrieval mode: vector, text, hybrid, ... (default: the eval's).")
    locomo.add_argument(
        "--units", default=None, choices=("turns", "observations", "summaries", "reflection"),
        help="What is indexed: turns, observations, summaries, or reflection (each conversation played through "
        "ReflectionNode with the configured memory model, else the offline extractor).",
    )
    locomo.add_argument(
        "--facts", default=None, choices=("none", "dataset"),
        help="Extra index keys of turn units: none (default, raw turns) or dataset (LoCoMo's GPT-written "
        "observations: an upper reference, not a product figure).",
    )
    locomo.add_argument("--max-questions", type=int, default=None, help="At most N questions per conversation.")
    locomo.add_argument("--sample", action="append", default=None, dest="samples", help="Only this sample id (repeatable).")
    locomo.add_argument("--json", action="store_true", help="Print the result as JSON.")
    locomo.set_defaults(handler=_locomo)


def parse_ks(text: str) -> list[int]:
    """``"5,10"`` -> ``[5, 10]``, rejecting anything but positive integers.

    Example:
        >>> parse_ks("5, 10,25")
        [5, 10, 25]
    """
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise CliError(f"--k {text!r} must be comma-separated integers, e.g. --k 5,10,25.") from exc
    if not ks or any(k <= 0 for k in ks):
        raise CliError(f"--k {text!r} must list positive integers, e.g. --k 5,10,25.")
    return sorted(set(ks))


def _memory_model() -> Any:
    """The configured memory model (LANGMEM_EXT_MEMORY_MODEL, ...), or None: the offline extractor."""
    from langmem_ext.models import default_memory_model, model_name

    name = model_name("memory")
    if name is None:
        sys.stderr.write("Reflection: no memory model configured, using the offline heuristic extractor.\n")
        return None
    sys.stderr.write(f"Reflection: memory model {name}.\n")
    try:
        return default_memory_model()
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _jsonable(result: Any) -> Any:
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    return result


def _locomo(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.exists():
        raise CliError(f"{path} does not exist. Pass your copy of LoCoMo's locomo10.json.")
    ks = parse_ks(args.k)
    try:
        from langmem_ext.long_term.eval import run_locomo_eval  # type: ignore[attr-defined]
    except ImportError as exc:
        raise CliError(f"The LoCoMo evaluation is not available in this install: {exc}.") from exc
    accepted = inspect.signature(run_locomo_eval).parameters
    options: dict[str, Any] = {
        "k": ks, "mode": args.mode, "units": args.units, "facts": args.facts,
        "max_questions": args.max_questions, "samples": args.samples,
        "model": _memory_model() if args.units == "reflection" else None,
    }  # fmt: skip
    kwargs = {name: value for name, value in options.items() if value is not None and name in accepted}
    unknown = [name for name, value in options.items() if value is not None and name not in accepted]
    if unknown:
        raise CliError(f"This version of run_locomo_eval has no option(s) {unknown}.")
    with redis_for(args.redis_url) as url:
        check_redis(url)
        if "redis_url" in accepted:
            kwargs["redis_url"] = url
        elif "url" in accepted:
            kwargs["url"] = url
        with console().status(f"Evaluating {path.name} ...") as status:
            if "progress" in accepted:
                kwargs["progress"] = lambda message: status.update(f"{path.name}: {message}")
            try:
                result = run_locomo_eval(path, **kwargs)
            except (ValueError, KeyError) as exc:
                raise CliError(f"{path} could not be evaluated: {exc}") from exc
    data = _jsonable(result)
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return 0
    from langmem_ext.long_term.eval import print_locomo_report

    print_locomo_report(data, console=console())
    return 0
