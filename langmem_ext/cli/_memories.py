"""``langmem-ext memories list | search | show | delete | forget-user | export | import``.

Memories live in the store under namespaces such as ``("memories", USER, KIND)``;
``--user`` narrows every command to one user's namespace prefix.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from langmem_ext.cli._common import CliError, check_redis, console, is_ephemeral, redis_for

ROOT = "memories"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("memories", help="List, search, show, delete, export or import memories.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--user", default=None, help="Only this user's memories.")
        p.add_argument("--prefix", default=ROOT, help=f"Namespace prefix, '/'-separated (default {ROOT!r}).")
        p.add_argument("--json", action="store_true", help="JSON Lines instead of a table.")
        return p

    p = common(actions.add_parser("list", help="List memories."))
    p.add_argument("--all", action="store_true", help="Also items that are not memories (reflection cursors).")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p.set_defaults(handler=_list)
    p = common(actions.add_parser("search", help="Semantic search over memories."))
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=10)
    p.set_defaults(handler=_search)
    p = common(actions.add_parser("show", help="Show one memory (NAMESPACE is '/'-separated)."))
    p.add_argument("namespace")
    p.add_argument("key")
    p.set_defaults(handler=_show)
    p = actions.add_parser("delete", help="Delete one memory.")
    p.add_argument("namespace")
    p.add_argument("key")
    p.set_defaults(handler=_delete)
    p = actions.add_parser("forget-user", help="Delete every memory of a user.")
    p.add_argument("user")
    p.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
    p.set_defaults(handler=_forget)
    p = common(actions.add_parser("export", help="Write memories as JSON Lines."))
    p.add_argument("--output", "-o", default="-", help="File (default: stdout).")
    p.set_defaults(handler=_export)
    p = actions.add_parser("import", help="Read memories from JSON Lines (all or nothing).")
    p.add_argument("file", help="A file written by `memories export` ('-' for stdin).")
    p.set_defaults(handler=_import)


# ----------------------------------------------------------------------------- pure helpers


def parse_namespace(text: str) -> tuple[str, ...]:
    """``"memories/maya/semantic"`` -> ``("memories", "maya", "semantic")``.

    Example:
        >>> parse_namespace("memories/maya")
        ('memories', 'maya')
    """
    parts = tuple(p for p in text.strip().split("/"))
    if not text.strip() or any(not p for p in parts):
        raise CliError(f"Bad namespace {text!r}: write its parts separated by '/', e.g. memories/maya.")
    return parts


def prefix_of(args: argparse.Namespace) -> tuple[str, ...]:
    """The namespace prefix a command works on (``--prefix`` then ``--user``)."""
    prefix = parse_namespace(args.prefix)
    return prefix + (args.user,) if args.user else prefix


def item_record(item: Any) -> dict[str, Any]:
    """A store ``Item`` as one JSON-serialisable export record."""

    def iso(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    record = {
        "namespace": list(item.namespace),
        "key": item.key,
        "value": item.value,
        "created_at": iso(getattr(item, "created_at", None)),
        "updated_at": iso(getattr(item, "updated_at", None)),
    }
    score = getattr(item, "score", None)
    if score is not None:
        record["score"] = score
    return record


def parse_records(lines: Sequence[str], *, source: str = "input") -> list[dict[str, Any]]:
    """Validate every export line before anything is written.

    Raises:
        CliError: naming the first bad line and what is wrong with it.

    Example:
        >>> parse_records(['{"namespace": ["memories", "u"], "key": "k", "value": {"content": "x"}}'])[0]["key"]
        'k'
    """
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CliError(f"{where} is not JSON ({exc.msg}); nothing was imported.") from exc
        if not isinstance(record, dict):
            raise CliError(f"{where} is not a JSON object; nothing was imported.")
        ns, key, value = record.get("namespace"), record.get("key"), record.get("value")
        if not (isinstance(ns, list) and ns and all(isinstance(p, str) and p for p in ns)):
            raise CliError(f"{where}: 'namespace' must be a non-empty list of strings; nothing was imported.")
        if not isinstance(key, str) or not key:
            raise CliError(f"{where}: 'key' must be a non-empty string; nothing was imported.")
        if not isinstance(value, dict):
            raise CliError(f"{where}: 'value' must be a JSON object; nothing was imported.")
        records.append({"namespace": tuple(ns), "key": key, "value": value})
    return records


def memory_summary(value: dict[str, Any]) -> str:
    """The one line to show for a stored memory value."""
    text = value.get("content") or value.get("text") or json.dumps(value)[:200]
    return str(text).replace("\n", " ")


# ----------------------------------------------------------------------------- commands


def open_store(url: str) -> Any:
    """Our RedisStore on ``url`` with the default MiniLM vector index (a context manager)."""
    from langmem_ext.cli._stores import open_store as _open

    return _open(url)


def _iter_items(store: Any, prefix: tuple[str, ...], *, page: int = 500) -> Iterator[Any]:
    offset = 0
    while True:
        batch = store.search(prefix, limit=page, offset=offset)
        yield from batch
        if len(batch) < page:
            return
        offset += page


def _print_items(items: Sequence[Any], *, as_json: bool, title: str) -> None:
    if as_json:
        for item in items:
            sys.stdout.write(json.dumps(item_record(item), ensure_ascii=False) + "\n")
        return
    from rich.table import Table

    table = Table(title=title)
    for column in ("namespace", "key", "kind", "memory"):
        table.add_column(column, overflow="fold")
    if any(getattr(i, "score", None) is not None for i in items):
        table.add_column("score")
    for item in items:
        row = ["/".join(item.namespace), item.key[:12], str(item.value.get("kind", "")), memory_summary(item.value)]
        if getattr(item, "score", None) is not None:
            row.append(f"{item.score:.3f}")
        table.add_row(*row)
    console().print(table)


def _with_store(args: argparse.Namespace, fn: Any) -> int:
    with redis_for(args.redis_url) as url:
        check_redis(url)
        if is_ephemeral(args.redis_url):
            console().print(
                "[yellow]note:[/] no REDIS_URL and no `langmem-ext redis start` server: using an "
                "empty private Redis for this command only."
            )
        with open_store(url) as store:
            return int(fn(store) or 0)


def _list(args: argparse.Namespace) -> int:
    def run(store: Any) -> int:
        items = store.search(prefix_of(args), limit=args.limit, offset=args.offset)
        if not args.all:
            items = [i for i in items if "kind" in i.value]  # not the reflection cursors
        _print_items(items, as_json=args.json, title=f"{len(items)} memories under {'/'.join(prefix_of(args))}")
        return 0

    return _with_store(args, run)


def _search(args: argparse.Namespace) -> int:
    if not args.query.strip():
        raise CliError("Empty query: say what to look for, e.g. `memories search 'where does she live'`.")

    def run(store: Any) -> int:
        items = store.search(prefix_of(args), query=args.query, limit=args.limit)
        _print_items(items, as_json=args.json, title=f"best {len(items)} for {args.query!r}")
        return 0

    return _with_store(args, run)


def _show(args: argparse.Namespace) -> int:
    namespace = parse_namespace(args.namespace)

    def run(store: Any) -> int:
        item = store.get(namespace, args.key)
        if item is None:
            raise CliError(f"No memory {args.key!r} in {args.namespace}; `memories list` shows the keys.")
        sys.stdout.write(json.dumps(item_record(item), ensure_ascii=False, indent=2) + "\n")
        return 0

    return _with_store(args, run)


def _delete(args: argparse.Namespace) -> int:
    namespace = parse_namespace(args.namespace)

    def run(store: Any) -> int:
        if store.get(namespace, args.key) is None:
            raise CliError(f"No memory {args.key!r} in {args.namespace}; nothing deleted.")
        store.delete(namespace, args.key)
        console().print(f"Deleted {args.namespace}/{args.key}.")
        return 0

    return _with_store(args, run)


def _forget(args: argparse.Namespace) -> int:
    if not args.user.strip() or "/" in args.user:
        raise CliError(f"Bad user id {args.user!r}.")
    if not args.yes and sys.stdin.isatty():
        answer = input(f"Delete every memory of {args.user!r}? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            console().print("Nothing deleted.")
            return 1

    def run(store: Any) -> int:
        from langmem_ext.cli._stores import forget

        count = forget(store, args.user)
        console().print(f"Forgot {count} memories of {args.user!r}.")
        return 0

    return _with_store(args, run)


def _export(args: argparse.Namespace) -> int:
    def run(store: Any) -> int:
        records = [json.dumps(item_record(i), ensure_ascii=False) + "\n" for i in _iter_items(store, prefix_of(args))]
        if args.output == "-":
            sys.stdout.writelines(records)
        else:
            path = Path(args.output)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text("".join(records))
            tmp.replace(path)
            console().print(f"Exported {len(records)} memories to {path}.")
        return 0

    return _with_store(args, run)


def _import(args: argparse.Namespace) -> int:
    if args.file == "-":
        lines, source = sys.stdin.read().splitlines(), "stdin"
    else:
        path = Path(args.file)
        if not path.exists():
            raise CliError(f"{path} does not exist; pass a file written by `langmem-ext memories export`.")
        lines, source = path.read_text().splitlines(), str(path)
    records = parse_records(lines, source=source)  # everything validated before any write

    def run(store: Any) -> int:
        from langgraph.store.base import PutOp

        ops = [PutOp(r["namespace"], r["key"], r["value"], index=["content"] if "content" in r["value"] else False) for r in records]
        if ops:
            store.batch(ops)
        console().print(f"Imported {len(ops)} memories.")
        return 0

    return _with_store(args, run)
