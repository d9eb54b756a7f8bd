"""Size limits, checked before any write so that an oversized input changes nothing.

One :class:`Limits` value is passed as ``limits=`` to the store (``RedisStore``,
``AsyncRedisStore``), the checkpointers (``RedisSaver``, ``AsyncRedisSaver``) and the
memory writer (``put_memories``, ``apply_changes``, ``update_memories``). Each
component reads the fields it cares about; ``None`` disables one limit.

Example:
    >>> from langmem_ext.limits import Limits, check_limit
    >>> Limits().value_bytes
    1048576
    >>> relaxed = Limits(value_bytes=8 * 2**20, query_bytes=None)
    >>> check_limit(relaxed, "query_bytes", 10**6, what="The search query")  # disabled: no error
    >>> check_limit(Limits(), "key_bytes", 2000, what="The key 'k'", owner="RedisStore")
    Traceback (most recent call last):
    ...
    langmem_ext.limits.LimitExceededError: The key 'k' is 2,000 bytes, over the limit key_bytes=1,024 (1 KiB). Nothing was written. Raise or disable it with RedisStore(..., limits=Limits(key_bytes=...)) (None disables it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["Limits", "LimitExceededError", "check_limit", "utf8_len"]

KiB = 2**10
MiB = 2**20


class LimitExceededError(ValueError):
    """An input over one of the configured :class:`Limits`; nothing was written.

    Attributes:
        limit: The name of the :class:`Limits` field that was exceeded.
        size: The input's size, in the limit's unit.
        maximum: The configured maximum.
    """

    def __init__(self, message: str, *, limit: str, size: int, maximum: int) -> None:
        super().__init__(message)
        self.limit, self.size, self.maximum = limit, size, maximum


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Configured maxima (``None`` disables one). Sizes of text are UTF-8 bytes.

    The defaults keep one input from blocking a shared Redis (a 32 MiB indexed value
    stalls every client for seconds) while staying far above what conversations and
    memories need; raise them for your data, e.g. ``Limits(value_bytes=8 * 2**20)``.
    """

    value_bytes: int | None = 1 * MiB
    """Store: a value serialised as JSON."""
    indexed_text_bytes: int | None = 32 * KiB
    """Store: each text taken from a value for the index (embedding models read 256-512 tokens anyway)."""
    namespace_labels: int | None = 16
    """Store: labels in a namespace (and in a search or list prefix)."""
    label_chars: int | None = 256
    """Store: characters in one namespace label."""
    key_bytes: int | None = 1 * KiB
    """Store: an item key."""
    query_bytes: int | None = 4 * KiB
    """Store: a search query."""
    message_bytes: int | None = 1 * MiB
    """Checkpointer: the content of one message in a checkpoint or pending write."""
    memory_bytes: int | None = 4 * KiB
    """Memory writer: a memory's text (its ``content``)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise ValueError(f"Limits.{f.name} must be a positive int or None (no limit), got {value!r}.")


def _human(n: int) -> str:
    for unit, size in (("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return f" ({n // size} {unit})"
    return ""


def utf8_len(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (lone surrogates count as one replacement each).

    Example:
        >>> utf8_len("abc"), utf8_len("日本")
        (3, 6)
    """
    return len(text) if text.isascii() else len(text.encode("utf-8", "replace"))


def check_limit(limits: Limits | None, name: str, size: int, *, what: str, owner: str = "the caller",
                unit: str = "bytes", fix: str = "") -> None:
    """Raise :class:`LimitExceededError` if ``size`` is over ``limits.<name>``.

    Args:
        limits: The limits in force (``None``: no limits at all).
        name: The :class:`Limits` field, e.g. ``"value_bytes"``.
        size: The input's size, in ``unit``.
        what: The input, as the start of a sentence ("The value for key 'k'").
        owner: The class or function whose ``limits=`` option sets the limit.
        unit: ``"bytes"``, ``"labels"``, ``"characters"`` ...
        fix: An optional sentence on how to shrink the input.
    """
    maximum = getattr(limits, name) if limits is not None else None
    if maximum is None or size <= maximum:
        return
    raise LimitExceededError(
        f"{what} is {size:,} {unit}, over the limit {name}={maximum:,}{_human(maximum)}. Nothing was written. "
        f"{fix + ' ' if fix else ''}Raise or disable it with {owner}(..., limits=Limits({name}=...)) "
        "(None disables it).",
        limit=name, size=size, maximum=maximum,
    )
