"""Options, errors and constants of the Redis checkpointers."""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = [
    "TTLConfig",
    "PruneStrategy",
    "CheckpointConfigError",
    "CheckpointSerializationError",
    "CheckpointTooLargeError",
    "DEFAULT_KEY_PREFIX",
    "MIN_REDIS_VERSION",
]

DEFAULT_KEY_PREFIX = "langmem:cp"
MIN_REDIS_VERSION = (7, 0)

PruneStrategy = Literal["keep_latest", "delete"]


class TTLConfig(TypedDict, total=False):
    """Per-thread expiry, applied with native Redis expiry to all keys of a thread."""

    default_ttl: float
    """Minutes a thread lives after its last write (or read, with ``refresh_on_read``)."""
    refresh_on_read: bool
    """Whether reading a thread re-arms its expiry (default False)."""


class CheckpointConfigError(ValueError):
    """A config (or option) the saver cannot act on; the message says what to pass."""


class CheckpointSerializationError(TypeError):
    """A value the serializer cannot store; nothing was written."""


class CheckpointTooLargeError(ValueError):
    """A message over the saver's ``max_message_bytes`` limit; nothing was written."""
