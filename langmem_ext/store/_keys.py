"""Key and field design of the Redis store: every exact match is a hashed TAG token.

User text (namespace labels, keys, filter values) never reaches a query: it is
hashed into short hex tokens, which need no escaping, cannot collide by
punctuation and are immune to stopwords and minimum-prefix rules.

Layout, for a store with prefix ``P``:

- ``P:i:{H}`` one Redis hash per item, ``H`` = hash of ``[namespace, key]``.
  The braces are a cluster hash tag, so the item and its extra vectors share a slot.
- ``P:i:{H}:1`` ... ``P:i:{H}:n`` extra vectors of an item whose indexed fields
  yield more than one text (InMemoryStore scores an item by its best vector).
- ``P:meta`` the schema version and the registry of numeric filter paths.

Beside the value, an item's hash holds each number at an object path up to three levels
deep (:func:`numeric_field`, indexed for range filters once registered) and each ISO 8601
date-time string there (:func:`time_field`, microseconds since the epoch, not indexed:
read by ``numbers()`` for statistics without the values).

Example:
    >>> item_key("lmx", ("users", "a"), "k")
    'lmx:i:{...}'
    >>> len(prefix_tokens(("users", "a")))
    2
    >>> prefix_tokens(("a", "b"))[0] == prefix_tokens(("a",))[0]
    True
    >>> prefix_tokens(("a-b",)) == prefix_tokens(("a_b",))
    False
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "ITEM_FIELDS",
    "MAX_NUMERIC_DEPTH",
    "canonical",
    "dict_token",
    "eq_token",
    "exists_token",
    "field_tokens",
    "item_key",
    "meta_key",
    "namespace_fields",
    "numeric_field",
    "numeric_leaves",
    "prefix_tokens",
    "text_hash",
    "time_field",
    "time_leaves",
    "token",
]

#: Hash fields of an item (children carry ``o``, ``p``, ``f``, ``vec`` and numerics).
ITEM_FIELDS = ("ns", "k", "v", "c", "u", "ttl", "ver", "nv")
#: Numeric filter paths deeper than this are evaluated in Python, not indexed.
MAX_NUMERIC_DEPTH = 3


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# json.dumps(x, ensure_ascii=False) with default separators: key hashes predate _ENCODER.
_ENCODER_SPACED = json.JSONEncoder(ensure_ascii=False)


def _h(text: str, size: int = 10) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=size).hexdigest()


def token(kind: str, payload: Any) -> str:
    """A 20-hex-character TAG token for ``kind`` and a JSON-serialisable payload."""
    return _h(kind + _ENCODER.encode(payload))


def item_key(prefix: str, namespace: Sequence[str], key: str) -> str:
    """The Redis key of an item: fixed length, whatever the namespace and key hold."""
    return f"{prefix}:i:{{{_h(_ENCODER_SPACED.encode([list(namespace), key]), 16)}}}"


def meta_key(prefix: str) -> str:
    """Where the schema version and the numeric-path registry live."""
    return f"{prefix}:meta"


def prefix_tokens(namespace: Sequence[str]) -> list[str]:
    """One token per namespace prefix, so prefix search is one exact TAG match."""
    return list(_prefix_tokens(tuple(namespace)))


@functools.lru_cache(maxsize=4096)
def _prefix_tokens(namespace: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(token("p", list(namespace[: i + 1])) for i in range(len(namespace)))


@functools.lru_cache(maxsize=4096)
def namespace_fields(namespace: tuple[str, ...]) -> tuple[str, str]:
    """An item's ``ns`` field (the namespace as JSON) and ``p`` field (its prefix tokens)."""
    return json.dumps(list(namespace), ensure_ascii=False), ",".join(_prefix_tokens(namespace))


def canonical(value: Any) -> Any:
    """A form in which values Python calls equal compare equal (``1 == 1.0 == True``)."""
    if isinstance(value, bool) or isinstance(value, (int, float)):
        number = float(value) if not isinstance(value, int) or abs(value) < 2**53 else value
        if isinstance(number, float) and math.isfinite(number) and number.is_integer():
            return ["n", str(int(number))]
        return ["n", repr(number) if isinstance(number, float) else str(number)]
    if value is None:
        return None
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, (list, tuple)):
        return ["l", [canonical(v) for v in value]]
    if isinstance(value, dict):
        return ["d", sorted((str(k), canonical(v)) for k, v in value.items())]
    return ["x", repr(value)]


def eq_token(path: Sequence[str], value: Any) -> str:
    """Token for "the value at ``path`` equals ``value``"."""
    return token("=", [list(path), canonical(value)])


def exists_token(path: Sequence[str]) -> str:
    """Token for "``path`` holds a value (possibly null)"."""
    return token("?", list(path))


def dict_token(path: Sequence[str]) -> str:
    """Token for "the value at ``path`` is an object"."""
    return token("{", list(path))


def _walk(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    for k, v in value.items():
        sub = (*path, str(k))
        yield sub, v
        if isinstance(v, dict):
            yield from _walk(v, sub)




def _dumps(x: Any) -> str:
    return _ENCODER.encode(x)


@functools.lru_cache(maxsize=4096)
def _path_tokens(path: tuple[str, ...]) -> tuple[str, str, str]:
    """(path as JSON, its exists token, its dict token)."""
    pj = _dumps(list(path))
    return pj, _h("?" + pj), _h("{" + pj)


_encode_str = json.encoder.encode_basestring  # what _ENCODER uses for strings (ensure_ascii=False)


def _canonical_json(v: Any) -> str:
    """``_dumps(canonical(v))``, without building the list for the common scalars."""
    cls = v.__class__
    if cls is str:
        return '["s",' + _encode_str(v) + "]"
    if cls is int and abs(v) < 2**53:
        return '["n","' + str(v) + '"]'
    if v is None:
        return "null"
    return _dumps(canonical(v))


def field_tokens(value: dict[str, Any]) -> list[str]:
    """Equality tokens of every object path of ``value`` (lists compare whole, as filters do).

    The same strings as :func:`exists_token` / :func:`dict_token` / :func:`eq_token`
    build, with each path's tokens cached and common scalars encoded directly.

    >>> field_tokens({"a": 1}) == [exists_token(("a",)), eq_token(("a",), 1)]
    True
    """
    out: list[str] = []
    for path, v in _walk(value, ()):
        pj, exists, is_dict = _path_tokens(path)
        out.append(exists)
        if isinstance(v, dict):
            out.append(is_dict)
        else:
            out.append(_h("=[" + pj + "," + _canonical_json(v) + "]"))
    return out


def numeric_field(path: Sequence[str]) -> str:
    """The hash field (and index attribute) holding the number at ``path``."""
    return _numeric_field(tuple(path))


@functools.lru_cache(maxsize=4096)
def _numeric_field(path: tuple[str, ...]) -> str:
    return "n" + token("#", list(path))[:12]


def numeric_leaves(value: dict[str, Any]) -> dict[tuple[str, ...], float]:
    """Numbers (and booleans, as ``float()`` sees them) at object paths up to the max depth."""
    out: dict[tuple[str, ...], float] = {}
    for path, v in _walk(value, ()):
        if len(path) <= MAX_NUMERIC_DEPTH and isinstance(v, (int, float)):
            f = float(v)
            if math.isfinite(f):
                out[path] = f
    return out


_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def time_leaves(value: dict[str, Any]) -> dict[tuple[str, ...], int]:
    """ISO 8601 date-time strings at object paths up to the max depth, as microseconds since the epoch.

    A date-time without an offset is read as UTC, as the memory schemas read it.

    >>> time_leaves({"at": "1970-01-01T00:00:01Z", "day": "1970-01-02", "n": 3, "o": {"t": "1970-01-01T01:00:00+01:00"}})
    {('at',): 1000000, ('o', 't'): 0}
    """
    out: dict[tuple[str, ...], int] = {}
    for path, v in _walk(value, ()):
        if len(path) <= MAX_NUMERIC_DEPTH and isinstance(v, str) and _DATETIME.fullmatch(v):
            try:
                when = datetime.fromisoformat(v)
            except ValueError:
                continue
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            out[path] = (when - _EPOCH) // _MICROSECOND
    return out


def time_field(path: Sequence[str]) -> str:
    """The hash field holding the date-time at ``path`` (microseconds since the epoch)."""
    return _time_field(tuple(path))


@functools.lru_cache(maxsize=4096)
def _time_field(path: tuple[str, ...]) -> str:
    return "d" + token("@", list(path))[:12]


def text_hash(texts: Sequence[tuple[str, str]]) -> str:
    """Hash of the (path, text) pairs an item was embedded from."""
    return _h(_ENCODER_SPACED.encode(list(texts)), 16)
