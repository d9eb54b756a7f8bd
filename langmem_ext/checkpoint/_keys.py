"""Key layout: every key of a thread shares one hash tag, names never parse ambiguously.

A thread owns seven keys, all named ``<prefix>:{t:<thread>}:<part>``, so Redis Cluster puts
them in one slot and a Lua script or MULTI may touch them together:

- ``idx``: sorted set (all scores 0, ordered by bytes) of checkpoint members ``ns|cid``.
- ``cp``: hash member -> packed checkpoint record (checkpoint without values, metadata, parent).
- ``refs``: hash member -> the blob fields the checkpoint reads, joined by ``\\n`` (for Lua).
- ``blobs``: hash ``ns|channel|version`` -> one serialised channel value.
- ``widx``: sorted set of write fields ``ns|cid|task|idx`` (a checkpoint's writes are a lex range).
- ``writes``: hash write field -> packed pending write.
- ``ridx``: sorted set ``run|ns|cid``, to find a run's checkpoints.

Every component is escaped so that ``|``, ``{``, ``}``, ``%`` and newlines inside thread ids,
namespaces, channels or ids can never split a name in the wrong place.

Example:
    >>> esc("a|b{c}")
    'a%7Cb%7Bc%7D'
    >>> unesc(esc("ns:1|x%"))
    'ns:1|x%'
    >>> thread_keys("lmx", "a{1}").cp
    'lmx:{t:a%7B1%7D}:cp'
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple
from urllib.parse import unquote

__all__ = ["esc", "unesc", "ThreadKeys", "thread_keys", "member", "split_member"]

_TABLE = str.maketrans({"%": "%25", "|": "%7C", "{": "%7B", "}": "%7D", "\n": "%0A"})


def esc(text: str) -> str:
    """Escape one name component (reversible, keeps the bytes order of plain ids)."""
    return text.translate(_TABLE)


def unesc(text: str) -> str:
    """Undo :func:`esc`."""
    return unquote(text) if "%" in text else text


class ThreadKeys(NamedTuple):
    """The seven keys of one thread, in the order every Lua script expects."""

    idx: str
    cp: str
    refs: str
    blobs: str
    widx: str
    writes: str
    ridx: str


@lru_cache(maxsize=8192)
def thread_keys(prefix: str, thread_id: str) -> ThreadKeys:
    """The keys of ``thread_id`` under ``prefix`` (all in one cluster slot)."""
    tag = f"{prefix}:{{t:{esc(thread_id)}}}:"  # "t:" keeps the tag non-empty for ""
    return ThreadKeys(*(tag + part for part in ThreadKeys._fields))


def member(checkpoint_ns: str, checkpoint_id: str) -> str:
    """The sorted-set member (and hash field) naming one checkpoint."""
    return f"{esc(checkpoint_ns)}|{esc(checkpoint_id)}"


def split_member(raw: bytes | str) -> tuple[str, str]:
    """``(checkpoint_ns, checkpoint_id)`` of a member."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    ns, _, cid = text.partition("|")
    return unesc(ns), unesc(cid)
