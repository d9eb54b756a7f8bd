"""Pure checks and namespaces: every argument a face passes is validated here, once.

A user's records live under ``root + (user_id,)``; memories of a kind under
``root + (user_id, kind)``. No face builds a namespace: it names a user, a kind and an
id, and this module turns them into namespaces (or refuses them with a message that
says what to pass instead). Ids and user ids are only ever used as exact store keys
and namespace labels, never inside a query.

Example:
    >>> scope = Scope(("memories",))
    >>> scope.kind_ns("maya", "semantic")
    ('memories', 'maya', 'semantic')
    >>> check_user("maya/semantic")
    Traceback (most recent call last):
    ...
    langmem_ext.service.errors.InvalidRequestError: Bad user id 'maya/semantic': ...
    >>> decode_cursor(encode_cursor(40, "semantic"), "semantic")
    40
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import ValidationError

from langmem_ext.limits import Limits
from langmem_ext.long_term.dead_letters import DEAD_LETTER_LABEL
from langmem_ext.long_term.namespaces import unfilled_placeholders
from langmem_ext.long_term.operations import BOOKKEEPING_FIELDS, content_schema
from langmem_ext.long_term.schemas import MemoryBase, memory_kinds
from langmem_ext.service.errors import InvalidRequestError, LimitError

__all__ = [
    "INTERNAL_LABELS",
    "MAX_LIST",
    "MAX_MESSAGES",
    "MAX_SEARCH",
    "Scope",
    "check_count",
    "check_id",
    "check_kind",
    "check_kinds",
    "check_query",
    "check_user",
    "content_field",
    "decode_cursor",
    "encode_cursor",
    "memory_fields",
    "to_messages",
    "validation_message",
]

MAX_LIST = 500
"""Most memories one list page returns."""
MAX_SEARCH = 100
"""Most search results one call returns."""
MAX_MESSAGES = 500
"""Most messages one recall or reflection takes."""
MAX_ID_CHARS = 256
"""Longest user id or memory id (a namespace label's limit)."""
INTERNAL_LABELS = ("access", "reflection_cursor", DEAD_LETTER_LABEL)
"""Labels under a user that hold bookkeeping, not memories."""

_CONTENT_FIELDS = {"semantic": "content", "episodic": "situation", "procedural": "rule"}


class Scope:
    """Namespaces under one root (default ``("memories",)``, where the nodes write)."""

    def __init__(self, root: Sequence[str]) -> None:
        if isinstance(root, str) or not root or not all(isinstance(r, str) and r and "." not in r for r in root):
            raise ValueError(f"root must be a non-empty tuple of labels without '.', e.g. ('memories',), got {root!r}.")
        self.root = tuple(root)

    def user_ns(self, user_id: str) -> tuple[str, ...]:
        return (*self.root, user_id)

    def kind_ns(self, user_id: str, kind: str) -> tuple[str, ...]:
        return (*self.root, user_id, kind)

    def stats_ns(self, user_id: str) -> tuple[str, ...]:
        return (*self.root, user_id, "access")

    def templates(self) -> dict[str, tuple[str, ...]]:
        """The node namespace templates of every registered kind under this root."""
        return {k: (*self.root, "{user_id}", k) for k in memory_kinds()}

    def template(self, label: str) -> tuple[str, ...]:
        return (*self.root, "{user_id}", label)

    @staticmethod
    def config(user_id: str, thread_id: str | None = None) -> dict[str, Any]:
        configurable = {"user_id": user_id}
        if thread_id:
            configurable["thread_id"] = thread_id
        return {"configurable": configurable}

    def split(self, namespace: Sequence[str]) -> tuple[str, str] | None:
        """``(user_id, label)`` of a namespace directly under a user, else None."""
        ns = tuple(namespace)
        if len(ns) != len(self.root) + 2 or ns[: len(self.root)] != self.root:
            return None
        return ns[len(self.root)], ns[len(self.root) + 1]


def _label(value: Any, what: str, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"Missing {what}: pass a non-empty string, e.g. {example!r}.")
    problem = None
    if value != value.strip():
        problem = "it starts or ends with whitespace"
    elif any(c in value for c in "./"):
        problem = "it contains '.' or '/'"
    elif any(ord(c) < 32 for c in value):
        problem = "it contains control characters"
    elif len(value) > MAX_ID_CHARS:
        problem = f"it is longer than {MAX_ID_CHARS} characters"
    elif unfilled_placeholders(value):
        problem = "it looks like an unfilled template placeholder"
    if problem:
        raise InvalidRequestError(f"Bad {what} {value[:80]!r}: {problem}. Use an id like {example!r}.")
    return value


def check_user(user_id: Any) -> str:
    """A valid user id (one namespace label), or :class:`InvalidRequestError`."""
    return _label(user_id, "user id", "maya-1a2b")


def check_id(memory_id: Any) -> str:
    """A valid memory id (a store key; ids are uuids but imported ones may be anything)."""
    if not isinstance(memory_id, str) or not memory_id.strip():
        raise InvalidRequestError("Missing memory id: pass the id shown by list or search.")
    if len(memory_id) > MAX_ID_CHARS or any(ord(c) < 32 for c in memory_id):
        raise InvalidRequestError(f"Bad memory id {memory_id[:80]!r}: use the id shown by list or search.")
    return memory_id


def check_kind(kind: Any) -> str:
    """A registered memory kind."""
    kinds = memory_kinds()
    if kind not in kinds:
        raise InvalidRequestError(f"Unknown memory kind {kind!r}: use one of {', '.join(sorted(kinds))}.")
    return str(kind)


def check_kinds(kinds: Sequence[str] | None) -> list[str]:
    """Kinds to search or list (all registered kinds when None or empty)."""
    if kinds is None or (not isinstance(kinds, str) and len(kinds) == 0):
        return list(memory_kinds())
    if isinstance(kinds, str):
        kinds = [kinds]
    return list(dict.fromkeys(check_kind(k) for k in kinds))


def check_count(value: Any, name: str, *, maximum: int, minimum: int = 1) -> int:
    """An integer option within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{name} must be a whole number, got {value!r}.")
    if not minimum <= value <= maximum:
        raise InvalidRequestError(f"{name} must be between {minimum} and {maximum}, got {value}.")
    return value


def check_query(query: Any, limits: Limits) -> str:
    """A non-empty search query within ``limits.query_bytes``."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequestError("Empty query: say what to look for, e.g. 'where does she live'.")
    maximum = limits.query_bytes
    if maximum is not None and len(query.encode("utf-8", "replace")) > maximum:
        raise LimitError(f"The query is over {maximum:,} bytes (limits.query_bytes); shorten it. Nothing was done.")
    return query.strip()


def encode_cursor(offset: int, kind: str | None) -> str:
    """An opaque page cursor: a position in the listing of one kind (or of all kinds)."""
    raw = json.dumps({"o": offset, "k": kind}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str | None) -> int:
    """The position a cursor from :func:`encode_cursor` stands for (0 for None)."""
    if cursor is None or cursor == "":
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, cursor_kind = data["o"], data["k"]
        ok = isinstance(offset, int) and not isinstance(offset, bool) and 0 <= offset <= 10**7
    except (ValueError, TypeError, KeyError):
        ok = False
    if not ok:
        raise InvalidRequestError("Bad cursor: pass the next_cursor of the previous page, or none for the first page.")
    if cursor_kind != kind:
        raise InvalidRequestError(f"This cursor belongs to a listing of kind {cursor_kind!r}, not {kind!r}; start again without it.")
    return int(offset)


def content_field(kind: str) -> str:
    """The field that holds a kind's text: a fact's ``content``, an episode's ``situation``, a rule's ``rule``."""
    if kind in _CONTENT_FIELDS:
        return _CONTENT_FIELDS[kind]
    model = memory_kinds()[kind]
    if "content" in model.model_fields:
        return "content"
    required = [n for n, f in model.model_fields.items() if f.is_required() and n not in BOOKKEEPING_FIELDS and n != "kind"]
    if len(required) == 1:
        return required[0]
    raise InvalidRequestError(f"Kind {kind!r} has no single text field; pass its fields with fields={{...}}.")


def editable_fields(kind: str) -> list[str]:
    """The fields of a kind a caller may set (importance included; bookkeeping excluded)."""
    return ["importance", *content_schema(kind).model_fields]


def validation_message(exc: ValidationError) -> str:
    """Pydantic errors as one line: ``field: problem; field: problem``."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "value"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def memory_fields(kind: str, *, content: str | None, fields: Mapping[str, Any] | None,
                  importance: int | None) -> dict[str, Any]:
    """The fields a caller sets on a memory of ``kind``, unknown names refused.

    Example:
        >>> memory_fields("procedural", content="Answer in French", fields={"scope": "language"}, importance=None)
        {'scope': 'language', 'rule': 'Answer in French'}
        >>> memory_fields("semantic", content=None, fields={"colour": "red"}, importance=None)
        Traceback (most recent call last):
        ...
        langmem_ext.service.errors.InvalidRequestError: Unknown field 'colour' for a semantic memory; ...
    """
    data = dict(fields or {})
    allowed = editable_fields(kind)
    for name in data:
        if name not in allowed:
            raise InvalidRequestError(
                f"Unknown field {name!r} for a {kind} memory; settable fields: {', '.join(allowed)}."
            )
    if content is not None:
        if not isinstance(content, str) or not content.strip():
            raise InvalidRequestError(f"Empty content: the {kind} memory's text ({content_field(kind)}) must not be blank.")
        name = content_field(kind)
        if name in data and data[name] != content:
            raise InvalidRequestError(f"Both content and fields[{name!r}] given: pass the text once.")
        data[name] = content.strip()
    if importance is not None:
        data["importance"] = importance
    return data


def validated(model: type[MemoryBase], data: Mapping[str, Any]) -> MemoryBase:
    """``model.model_validate(data)``, its errors as :class:`InvalidRequestError`."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidRequestError(f"Invalid {model.__name__}: {validation_message(exc)}. Nothing was written.") from exc


_ROLES: dict[str, type[BaseMessage]] = {
    "user": HumanMessage, "human": HumanMessage, "assistant": AIMessage, "ai": AIMessage,
    "system": SystemMessage, "tool": ToolMessage,
}


def to_messages(messages: Sequence[Any], *, limits: Limits) -> list[BaseMessage]:
    """LangChain messages from ``{"role", "content", "id"?}`` dicts (or messages, kept as they are).

    Example:
        >>> [type(m).__name__ for m in to_messages([{"role": "user", "content": "hi"},
        ...                                         {"role": "assistant", "content": "hello"}], limits=Limits())]
        ['HumanMessage', 'AIMessage']
    """
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence) or not messages:
        raise InvalidRequestError("messages must be a non-empty list of {'role': 'user'|'assistant'|..., 'content': '...'}.")
    if len(messages) > MAX_MESSAGES:
        raise LimitError(f"{len(messages)} messages is over the {MAX_MESSAGES} one call takes; send the newest ones.")
    out: list[BaseMessage] = []
    for i, raw in enumerate(messages):
        if isinstance(raw, BaseMessage):
            out.append(raw)
            continue
        if not isinstance(raw, Mapping):
            raise InvalidRequestError(f"messages[{i}] must be an object with 'role' and 'content'.")
        role, content = raw.get("role"), raw.get("content")
        if role not in _ROLES:
            raise InvalidRequestError(f"messages[{i}].role must be one of user, assistant, system, tool; got {role!r}.")
        if not isinstance(content, str):
            raise InvalidRequestError(f"messages[{i}].content must be a string.")
        if limits.message_bytes is not None and len(content.encode("utf-8", "replace")) > limits.message_bytes:
            raise LimitError(f"messages[{i}] is over {limits.message_bytes:,} bytes (limits.message_bytes). Nothing was done.")
        extra: dict[str, Any] = {}
        if isinstance(raw.get("id"), str) and raw["id"]:
            extra["id"] = raw["id"][:MAX_ID_CHARS]
        if role == "tool":
            extra["tool_call_id"] = str(raw.get("tool_call_id") or "external")
        out.append(_ROLES[role](content=content, **extra))
    return out
