"""``langmem-ext memories ...``: administer memories through the service layer.

Every command names a user (``--user``) and, where it acts on one memory, its id (the
full id ``list`` and ``search`` print). Namespaces, queries and validation belong to
:mod:`langmem_ext.service`; this module only parses arguments and prints results.
Results go to stdout, notes and errors to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langmem_ext.cli._common import CliError, console, note, open_service, stderr

ROOT = "memories"


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (so ``--limit -1`` is a one-line usage error).

    Example:
        >>> positive_int("5")
        5
        >>> positive_int("-1")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be a whole number >= 1, got '-1'
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("memories", help="List, search, show, add, edit, pin, delete, export or import memories.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    def cmd(name: str, help: str, handler: Any, *, user: str | None = "optional", json_out: bool = True) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help)
        if user == "required":
            p.add_argument("--user", required=True, help="Whose memories (the graphs' configurable user_id).")
        elif user == "optional":
            p.add_argument("--user", default=None, help="Only this user's memories.")
        p.add_argument("--prefix", default=ROOT, help=f"Root namespace, '/'-separated (default {ROOT!r}).")
        if json_out:
            p.add_argument("--json", action="store_true", help="JSON (Lines) instead of a table.")
        p.set_defaults(handler=handler)
        return p

    p = cmd("list", "List memories (every user's, or one user's).", _list)
    p.add_argument("--kind", default=None, help="Only this kind (semantic, episodic, procedural).")
    p.add_argument("--limit", type=positive_int, default=50, help="Most memories (default 50).")
    p.add_argument("--cursor", default=None, help="Continue after a previous page (printed at its end).")
    cmd("users", "List users with their memory counts per kind and last activity.", _users, user=None)
    p = cmd("search", "Search one user's memories; shows each score's parts.", _search, user="required")
    p.add_argument("query")
    p.add_argument("--kind", action="append", default=None, help="Only this kind (repeatable).")
    p.add_argument("--limit", type=positive_int, default=10)
    p = cmd("show", "Show one memory with its history: `show ID --user U` (or `show NAMESPACE ID`).", _show)
    p.add_argument("target", nargs="+", metavar="ID", help="The id from `list`/`search` (or NAMESPACE ID).")
    p = cmd("add", "Add a memory (text: the fact, the situation or the rule).", _add, user="required")
    p.add_argument("text")
    p.add_argument("--kind", default="semantic", help="semantic (default), episodic or procedural.")
    p.add_argument("--importance", type=int, default=None, help="1 (trivia) to 10 (critical).")
    p = cmd("update", "Change a memory's text or importance (the old text stays in its history).", _update)
    p.add_argument("target", nargs="+", metavar="ID")
    p.add_argument("--text", default=None, help="The new text.")
    p.add_argument("--importance", type=int, default=None)
    p = cmd("pin", "Pin a memory (never forgotten); --unpin undoes it.", _pin)
    p.add_argument("target", nargs="+", metavar="ID")
    p.add_argument("--unpin", action="store_true")
    p = cmd("delete", "Delete one memory: `delete ID --user U` (or `delete NAMESPACE ID`).", _delete)
    p.add_argument("target", nargs="+", metavar="ID")
    p = cmd("stats", "Importance, strength and access statistics; what forgetting drops next.", _stats, user="required")
    p = cmd("forget-user", "Delete every memory of a user (asks first; --yes when there is no terminal).", _forget,
            user=None, json_out=False)
    p.add_argument("user")
    p.add_argument("--yes", action="store_true", help="Do not ask for confirmation (required without a terminal).")
    p = cmd("export", "Write memories as JSON Lines (a backup: bookkeeping records included).", _export, json_out=False)
    p.add_argument("--output", "-o", default="-", help="File (default: stdout).")
    p.add_argument("--memories-only", action="store_true", help="Leave out reflection cursors and access statistics.")
    p = cmd("import", "Read JSON Lines written by export (checked whole: all or nothing).", _import, json_out=False)
    p.add_argument("file", help="A file written by `memories export` ('-' for stdin).")


# ----------------------------------------------------------------------------- helpers


def parse_namespace(text: str) -> tuple[str, ...]:
    """``"memories/maya/semantic"`` -> ``("memories", "maya", "semantic")``.

    Example:
        >>> parse_namespace("memories/maya")
        ('memories', 'maya')
    """
    parts = tuple(text.strip().split("/"))
    if not text.strip() or any(not p for p in parts):
        raise CliError(f"Bad namespace {text!r}: write its parts separated by '/', e.g. memories/maya.")
    return parts


def root_of(args: argparse.Namespace) -> tuple[str, ...]:
    return parse_namespace(args.prefix)


def user_and_id(args: argparse.Namespace) -> tuple[str, str]:
    """``ID --user U`` or the older ``NAMESPACE ID`` (namespace ``root/user/kind``)."""
    target: list[str] = args.target
    if len(target) == 2:
        ns, memory_id = parse_namespace(target[0]), target[1]
        root = root_of(args)
        if len(ns) != len(root) + 2 or ns[: len(root)] != root:
            raise CliError(f"Namespace {target[0]!r} is not {'/'.join(root)}/<user>/<kind>; or pass `ID --user U`.")
        if args.user is not None and args.user != ns[len(root)]:
            raise CliError(f"--user {args.user!r} and namespace {target[0]!r} name different users.")
        return ns[len(root)], memory_id
    if len(target) != 1:
        raise CliError("Pass one memory id (and --user), e.g. `memories show 3f2c... --user maya`.")
    if not args.user:
        raise CliError("Which user? Pass --user U (`langmem-ext memories users` lists them).")
    return args.user, target[0]


def say(text: str) -> None:
    """A result line on stdout, printed as is (memory text is never read as rich markup)."""
    console().print(text, markup=False, soft_wrap=True)


def _dump(model: Any) -> str:
    return json.dumps(model.model_dump(mode="json"), ensure_ascii=False)


def _memory_table(rows: Sequence[Any], *, title: str) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title))
    table.add_column("user", overflow="fold")
    table.add_column("kind")
    width = max((len(m.id) for m in rows), default=2)
    table.add_column("id", no_wrap=True, min_width=width)  # whole: `show` takes it
    table.add_column("memory", overflow="fold", ratio=1)
    for m in rows:
        marks = ("[pinned] " if m.pinned else "") + ("[archived] " if m.status != "active" else "") + (
            "[no longer true] " if m.valid_to is not None else "")
        cells = [m.user_id, m.kind, m.id, marks + m.content]
        table.add_row(*(Text(c) for c in cells))
    console().print(table)


# ----------------------------------------------------------------------------- commands


def _list(args: argparse.Namespace) -> int:
    with open_service(args.redis_url, root=root_of(args)) as service:
        if args.user:
            pages = [service.list_memories(args.user, kind=args.kind, limit=args.limit, cursor=args.cursor)]
        else:
            if args.cursor:
                raise CliError("--cursor continues one user's listing: pass --user too.")
            pages, left = [], args.limit
            for user in service.list_users():
                if left <= 0:
                    break
                page = service.list_memories(user.user_id, kind=args.kind, limit=min(left, 500))
                pages.append(page)
                left -= len(page.memories)
        rows = [m for page in pages for m in page.memories]
        if args.json:
            for m in rows:
                sys.stdout.write(_dump(m) + "\n")
        else:
            where = f"user {args.user!r}" if args.user else "every user"
            _memory_table(rows, title=f"{len(rows)} memories of {where}")
        if args.user and pages[0].next_cursor:
            stderr().print(f"more: --cursor {pages[0].next_cursor}", markup=False)
    return 0


def _users(args: argparse.Namespace) -> int:
    with open_service(args.redis_url, root=root_of(args)) as service:
        users = service.list_users()
    if args.json:
        for u in users:
            sys.stdout.write(_dump(u) + "\n")
        return 0
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(users)} users")
    for column in ("user", "semantic", "episodic", "procedural", "total", "bookkeeping", "last activity"):
        table.add_column(column, overflow="fold")
    for u in users:
        when = u.last_activity.isoformat(timespec="seconds") if u.last_activity else "-"
        table.add_row(Text(u.user_id), *(str(u.counts.get(k, 0)) for k in ("semantic", "episodic", "procedural")),
                      str(u.total), str(u.internal), when)
    console().print(table)
    return 0


def _search(args: argparse.Namespace) -> int:
    with open_service(args.redis_url, root=root_of(args)) as service:
        hits = service.search(args.user, args.query, kinds=args.kind, limit=args.limit)
    if args.json:
        for h in hits:
            sys.stdout.write(_dump(h) + "\n")
        return 0
    say(f"best {len(hits)} for {args.query!r} (score = weighted relevance, recency, importance, strength):")
    for h in hits:
        s = h.score
        say(f"{s.total:.3f}  {h.memory.kind}  {h.memory.id}\n       {h.memory.content}\n       relevance {s.relevance:.2f}"
            f" · recency {s.recency:.2f} · importance {s.importance:.2f} · strength {s.strength:.2f}"
            + (" · no longer true (halved)" if s.closed else ""))
    return 0


def _show(args: argparse.Namespace) -> int:
    user, memory_id = user_and_id(args)
    with open_service(args.redis_url, root=root_of(args)) as service:
        view = service.show(user, memory_id)
    sys.stdout.write(json.dumps(view.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n")
    return 0


def _write_result(args: argparse.Namespace, result: Any, verb: str) -> int:
    if args.json:
        sys.stdout.write(_dump(result) + "\n")
    elif result.changed:
        say(f"{verb} {result.memory.kind} memory {result.memory.id} of {result.memory.user_id!r}: {result.memory.content}")
    else:
        say(result.note)
    return 0


def _add(args: argparse.Namespace) -> int:
    with open_service(args.redis_url, root=root_of(args)) as service:
        result = service.add(args.user, kind=args.kind, content=args.text, importance=args.importance,
                             reason="added with the CLI")
    return _write_result(args, result, "Added")


def _update(args: argparse.Namespace) -> int:
    user, memory_id = user_and_id(args)
    with open_service(args.redis_url, root=root_of(args)) as service:
        result = service.update(user, memory_id, content=args.text, importance=args.importance,
                                reason="edited with the CLI")
    return _write_result(args, result, "Updated")


def _pin(args: argparse.Namespace) -> int:
    user, memory_id = user_and_id(args)
    with open_service(args.redis_url, root=root_of(args)) as service:
        result = service.pin(user, memory_id, pinned=not args.unpin)
    return _write_result(args, result, "Unpinned" if args.unpin else "Pinned")


def _delete(args: argparse.Namespace) -> int:
    user, memory_id = user_and_id(args)
    with open_service(args.redis_url, root=root_of(args)) as service:
        view = service.delete(user, memory_id)
    if args.json:
        sys.stdout.write(_dump(view) + "\n")
    else:
        say(f"Deleted {view.kind} memory {view.id} of {user!r}: {view.content}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    with open_service(args.redis_url, root=root_of(args)) as service:
        stats = service.stats(args.user)
    if args.json:
        sys.stdout.write(_dump(stats) + "\n")
        return 0
    out = console()
    out.print(f"{stats.user_id}: {stats.total} memories ({stats.active} active, {stats.archived} archived, "
              f"{stats.pinned} pinned, {stats.closed} no longer true); by kind: "
              + ", ".join(f"{k} {n}" for k, n in sorted(stats.by_kind.items())), markup=False)
    out.print("importance: " + "  ".join(f"{i}:{n}" for i, n in stats.importance.items() if n))
    out.print(f"strength now: min {stats.strength['min']:.2f}, mean {stats.strength['mean']:.2f}, max {stats.strength['max']:.2f}"
              f"; recalls {stats.recalls}, never recalled {stats.never_recalled}")
    out.print(f"forgetting (strength < {stats.threshold}, half-life {stats.half_life_days:g} days): "
              f"{stats.forgettable_now} due now; next:")
    for c in stats.forget_next:
        out.print(f"  {c.drops_at.date().isoformat()}  {c.memory.id}  {c.memory.content[:80]}", markup=False)
    return 0


def _forget(args: argparse.Namespace) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError(f"forget-user erases every memory of {args.user!r} and cannot ask for confirmation "
                           "without a terminal: pass --yes to confirm.")
        answer = input(f"Delete every memory of {args.user!r}? Type the user id to confirm: ")
        if answer.strip() != args.user:
            stderr().print("Nothing deleted.")
            return 1
    with open_service(args.redis_url, root=root_of(args)) as service:
        result = service.forget_user(args.user)
    if result.remaining:
        raise CliError(f"Deleted {result.deleted} records of {args.user!r}, but a {result.verified_by} still finds "
                       f"{result.remaining}: run the command again (another writer may be adding to this user).")
    say(f"Forgot {result.deleted} records of {args.user!r}; a {result.verified_by} finds none left.")
    return 0


def _export(args: argparse.Namespace) -> int:
    path = None if args.output == "-" else Path(args.output)
    if path is not None:
        if path.is_dir():
            raise CliError(f"{path} is a directory: pass a file name, e.g. {path / 'memories.jsonl'}. Nothing was written.")
        if not path.parent.is_dir():
            raise CliError(f"The directory {path.parent} does not exist: create it or choose another path. Nothing was written.")
    with open_service(args.redis_url, root=root_of(args)) as service:
        exported = service.export(args.user, memories_only=args.memories_only)
    lines = exported.lines()
    if path is None:
        sys.stdout.writelines(lines)
        where = "stdout"
    else:
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text("".join(lines), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise CliError(f"Cannot write {path}: {exc.strerror or exc}. Nothing was written.") from exc
        where = str(path)
    extra = f" and {exported.internal} bookkeeping records (reflection cursors, access statistics)" if exported.internal else ""
    stderr().print(f"Exported {exported.memories} memories{extra} to {where}.", markup=False, soft_wrap=True)
    return 0


def _import(args: argparse.Namespace) -> int:
    if args.file == "-":
        text, source = sys.stdin.read(), "stdin"
    else:
        path = Path(args.file)
        if path.is_dir():
            raise CliError(f"{path} is a directory: pass a file written by `langmem-ext memories export`.")
        if not path.exists():
            raise CliError(f"{path} does not exist; pass a file written by `langmem-ext memories export`.")
        try:
            text, source = path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"Cannot read {path}: {exc}. Nothing was imported.") from exc
    with open_service(args.redis_url, root=root_of(args)) as service:
        report = service.import_lines(text.splitlines(), source=source, user_id=args.user)
    extra = f" and {report.internal} bookkeeping records" if report.internal else ""
    who = f" for {', '.join(map(repr, report.users))}" if report.users else ""
    say(f"Imported {report.memories} memories{extra}{who}.")
    if report.filled:
        shown = "; ".join(f"line {f.line}: {', '.join(f.fields[:4])}{' ...' if len(f.fields) > 4 else ''}"
                          for f in report.filled[:3])
        note(f"filled in missing fields of {len(report.filled)} memories from their "
                       f"namespace and the schema defaults ({shown}{'; ...' if len(report.filled) > 3 else ''}).")
    return 0
