"""The errors of the service layer: one base class, so every face catches one thing.

Each message names the cause and the fix, and says whether anything was written (it
never is: requests are validated before any write). Faces print ``str(error)`` as is:
the CLI as a one-line error, the MCP server as a tool error, the web UI as a flash.

Example:
    >>> try:
    ...     raise MemoryNotFoundError("No memory 'x' for user 'u'.")
    ... except ServiceError as exc:
    ...     print(type(exc).__name__, exc.code, exc)
    MemoryNotFoundError not_found No memory 'x' for user 'u'.
"""

from __future__ import annotations

__all__ = [
    "ServiceError",
    "InvalidRequestError",
    "MemoryNotFoundError",
    "LimitError",
    "ConflictError",
    "StoreUnavailableError",
]


class ServiceError(Exception):
    """Base class: a request the service could not carry out; nothing was written."""

    code = "error"


class InvalidRequestError(ServiceError, ValueError):
    """A bad argument: unknown kind, empty query, bad user id, limit out of range, bad cursor ..."""

    code = "invalid_request"


class MemoryNotFoundError(ServiceError, LookupError):
    """No memory with that id in the caller's own namespace (other users' ids look the same)."""

    code = "not_found"


class LimitError(ServiceError, ValueError):
    """An input over one of the configured :class:`~langmem_ext.limits.Limits`."""

    code = "limit_exceeded"


class ConflictError(ServiceError):
    """Another writer kept changing the memory; retry the request."""

    code = "conflict"


class StoreUnavailableError(ServiceError):
    """The store (Redis) could not be reached or answered with an error."""

    code = "store_unavailable"
