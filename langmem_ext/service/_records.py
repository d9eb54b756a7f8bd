"""Export records and the validation of an import, pure (no I/O).

An export is JSON Lines, one record per store item under a user (or every user):
``{"namespace": [...], "key": "...", "value": {...}, "created_at": "...", "updated_at": "..."}``.
Memories and bookkeeping records (reflection cursors, access statistics) are both
exported, so an export is a full backup; the counts keep them apart.

An import is validated whole before anything is written; the first bad line is named
(``file:line``) and nothing is imported. A memory that lacks schema fields is
**filled in**, not rejected, when what is missing can be known: its ``kind`` from its
namespace, its ``id`` from its key, its text field from ``content``, and everything else
from the schema's defaults (importance 5, created now, full strength ...). The report
lists every line that was filled in. A memory whose text is missing altogether, whose
kind or id contradicts its namespace or key, or whose fields are invalid is rejected.

Example:
    >>> scope = Scope(("memories",))
    >>> plan = parse_import(['{"namespace": ["memories", "u1", "semantic"], "key": "k1", "value": {"content": "likes jazz"}}'],
    ...                     scope=scope, limits=Limits())
    >>> plan.ops[0].value["kind"], plan.ops[0].value["content"], plan.filled[0].fields[:2]
    ('semantic', 'likes jazz', ['id', 'kind'])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from langgraph.store.base import Item, PutOp
from pydantic import ValidationError

from langmem_ext.limits import LimitExceededError, Limits
from langmem_ext.long_term.schemas import INDEX_FIELDS, from_value, memory_kinds, to_value
from langmem_ext.long_term.writer import check_memory_size
from langmem_ext.service._scope import INTERNAL_LABELS, Scope, check_user, content_field, validation_message
from langmem_ext.service.errors import InvalidRequestError, LimitError, ServiceError
from langmem_ext.service.views import FilledIn

__all__ = ["ImportPlan", "is_memory_label", "parse_import", "record_of"]


def is_memory_label(label: str) -> bool:
    """Whether a label under a user holds memories (a registered kind)."""
    return label in memory_kinds()


def record_of(item: Item) -> dict[str, Any]:
    """A store item as one export record."""

    def iso(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    return {
        "namespace": list(item.namespace),
        "key": item.key,
        "value": item.value,
        "created_at": iso(getattr(item, "created_at", None)),
        "updated_at": iso(getattr(item, "updated_at", None)),
    }


@dataclass
class ImportPlan:
    """The writes of a validated import."""

    ops: list[PutOp] = field(default_factory=list)
    memories: int = 0
    internal: int = 0
    users: set[str] = field(default_factory=set)
    filled: list[FilledIn] = field(default_factory=list)


def _memory_value(value: dict[str, Any], *, label: str, key: str, where: str, limits: Limits) -> tuple[dict[str, Any], list[str]]:
    data = dict(value)
    filled: list[str] = []
    if data.get("id") in (None, ""):
        data["id"], _ = key, filled.append("id")
    elif data["id"] != key:
        raise InvalidRequestError(f"{where}: value.id {data['id']!r} differs from key {key!r}")
    if data.get("kind") in (None, ""):
        data["kind"], _ = label, filled.append("kind")
    elif data["kind"] != label:
        raise InvalidRequestError(f"{where}: a {data['kind']!r} memory in the {label!r} namespace")
    model = memory_kinds()[label]
    text_field = content_field(label)
    if text_field != "content" and data.get(text_field) in (None, "") and isinstance(data.get("content"), str):
        data[text_field], _ = data["content"], filled.append(text_field)
    if not isinstance(data.get(text_field), str) or not data[text_field].strip():
        raise InvalidRequestError(f"{where}: a {label} memory needs its text in {text_field!r} (or 'content')")
    filled += [n for n in model.model_fields if n not in data]
    try:
        memory = from_value(data, key=key)
    except (ValidationError, ValueError) as exc:
        detail = validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
        raise InvalidRequestError(f"{where}: not a valid {label} memory ({detail})") from exc
    try:
        check_memory_size(memory, limits=limits)
    except LimitExceededError as exc:
        raise LimitError(f"{where}: {exc}") from exc
    return to_value(memory), filled


def parse_import(lines: Sequence[str], *, scope: Scope, limits: Limits, source: str = "input",
                 user_id: str | None = None) -> ImportPlan:
    """Validate every line of an export; the writes, or the first bad line as an error.

    Args:
        lines: The JSON Lines.
        scope: Where memories live; every record must be directly under a user of it.
        limits: ``memory_bytes`` applies to each memory's text.
        source: Name used in errors (``source:line``).
        user_id: When given, every record must belong to this user.

    Raises:
        InvalidRequestError: naming ``source:line`` and the problem; nothing was written.
        LimitError: a memory's text over ``limits.memory_bytes``.
    """
    plan = ImportPlan()
    seen: dict[tuple[tuple[str, ...], str], int] = {}
    root = "/".join(scope.root)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidRequestError(f"{where} is not JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise InvalidRequestError(f"{where} is not a JSON object")
            ns, key, value = record.get("namespace"), record.get("key"), record.get("value")
            if not (isinstance(ns, list) and ns and all(isinstance(p, str) and p for p in ns)):
                raise InvalidRequestError(f"{where}: 'namespace' must be a non-empty list of strings")
            if not isinstance(key, str) or not key:
                raise InvalidRequestError(f"{where}: 'key' must be a non-empty string")
            if not isinstance(value, dict):
                raise InvalidRequestError(f"{where}: 'value' must be a JSON object")
            parts = scope.split(ns)
            if parts is None:
                raise InvalidRequestError(f"{where}: namespace {'/'.join(ns)!r} is not {root}/<user>/<kind>")
            user, label = parts
            try:
                check_user(user)
            except InvalidRequestError as exc:
                raise InvalidRequestError(f"{where}: {exc}") from exc
            if user_id is not None and user != user_id:
                raise InvalidRequestError(f"{where}: a record of user {user!r}, but this import is for {user_id!r} only")
            where_key = (tuple(ns), key)
            if where_key in seen:
                raise InvalidRequestError(f"{where}: repeats the namespace and key of line {seen[where_key]}")
            seen[where_key] = number
            if is_memory_label(label):
                stored, filled = _memory_value(value, label=label, key=key, where=where, limits=limits)
                plan.ops.append(PutOp(tuple(ns), key, stored, index=INDEX_FIELDS))
                plan.memories += 1
                if filled:
                    plan.filled.append(FilledIn(line=number, key=key, fields=filled))
            elif label in INTERNAL_LABELS:
                plan.ops.append(PutOp(tuple(ns), key, value, index=False))
                plan.internal += 1
            else:
                raise InvalidRequestError(
                    f"{where}: unknown label {label!r} under user {user!r}; expected a memory kind "
                    f"({', '.join(sorted(memory_kinds()))}) or bookkeeping ({', '.join(INTERNAL_LABELS)})"
                )
            plan.users.add(user)
        except ServiceError as exc:
            raise type(exc)(f"{exc}; nothing was imported.") from exc
    return plan
