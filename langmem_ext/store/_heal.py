"""A store that heals a lost index (pure; ``BaseRedisStore._healing`` wraps every operation).

A ``FLUSHALL``, a ``FLUSHDB`` or a restart of a Redis without persistence takes the
RediSearch index (and the store's meta hash) away under a running store: from then on
every query answers ``<index>: no such index`` and every ``FT.INFO`` / ``FT.ALTER``
``Unknown index name``. The store does not stay broken: the first operation that meets
either error re-creates the index with the store's idempotent ``setup`` and sends its
request again, once. Items written meanwhile are indexed when the index is created
(RediSearch scans the existing keys under the prefix).

Example:
    >>> from redis.exceptions import ResponseError
    >>> index_missing(ResponseError("langmem_ext:idx: no such index")), index_missing(ResponseError("Unknown Index name"))
    (True, True)
    >>> index_missing(ResponseError("Syntax error at offset 3")), index_missing(ValueError("no such index"))
    (False, False)
    >>> lost_in([b"ok", ResponseError("Unknown index name")]), lost_in([b"ok", None])
    (True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import ResponseError

__all__ = ["index_missing", "lost_in"]

_MISSING = ("no such index", "unknown index name")


def index_missing(error: BaseException) -> bool:
    """Whether ``error`` is RediSearch saying the index does not exist."""
    return isinstance(error, ResponseError) and any(text in str(error).lower() for text in _MISSING)


def lost_in(replies: Sequence[Any]) -> bool:
    """Whether a tolerant pipeline's ``replies`` hold a missing-index error (errors are values there)."""
    return isinstance(replies, list) and any(isinstance(r, ResponseError) and index_missing(r) for r in replies)
