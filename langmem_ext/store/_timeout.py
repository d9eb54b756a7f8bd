"""Query timeouts that fail loudly (pure; the drivers in ``redis.py``/``aio.py`` do the I/O).

What RediSearch 2.10.5 does (measured on the embedded server): every ``FT.SEARCH`` and
``FT.AGGREGATE`` runs under a timeout (the module's ``TIMEOUT``, 500 ms by default, or
the query's own ``TIMEOUT <ms>``; ``0`` means none). With the default
``ON_TIMEOUT return`` a query that runs out of time answers with PARTIAL results:
over RESP3 the reply carries the warning ``"Timeout limit was reached"``; over RESP2
nothing at all marks it (a timed-out KNN answers ``[0]``, as if nothing matched).
With ``ON_TIMEOUT fail`` the server answers the error ``Timeout limit was reached``.

So the store sends ``TIMEOUT`` (its ``query_timeout``, in ms) with every query on a RESP3 client,
retries a timed-out pipeline once and then raises :class:`SearchTimeoutError`; on a
RESP2 client, where a timeout cannot be seen, it sends ``TIMEOUT 0`` (no server
timeout: complete results, bounded by the client's socket timeout).

Example:
    >>> req = Pipe([("FT.SEARCH", "idx", "*", "DIALECT", "2"), ("HGET", "k", "f")])
    >>> with_query_timeout(req, 250).cmds[0][-2:], with_query_timeout(req, 250).cmds[1]
    (('TIMEOUT', '250'), ('HGET', 'k', 'f'))
    >>> timed_out(req, [{b"total_results": 3, b"warning": [b"Timeout limit was reached"]}, b"v"])
    True
    >>> timed_out(req, [[3, b"id"], b"v"])
    False
"""

from __future__ import annotations

from typing import Any

from langmem_ext.store._resp import Pipe

__all__ = [
    "SearchTimeoutError",
    "TIMEOUT_TEXT",
    "is_query",
    "is_timeout_reply_error",
    "speaks_resp3",
    "timed_out",
    "timeout_error",
    "with_query_timeout",
]

TIMEOUT_TEXT = "timeout limit was reached"
_QUERIES = {"FT.SEARCH", "FT.AGGREGATE"}


class SearchTimeoutError(TimeoutError):
    """A RediSearch query ran out of time twice; its partial results were discarded."""


def is_query(cmd: tuple[Any, ...]) -> bool:
    """Whether ``cmd`` is a RediSearch query (``FT.SEARCH`` or ``FT.AGGREGATE``)."""
    name = cmd[0]
    if name in _QUERIES:  # the store's own commands: no decoding
        return True
    name = name.decode() if isinstance(name, bytes) else str(name)
    return name.upper() in _QUERIES


def with_query_timeout(req: Pipe, ms: int) -> Pipe:
    """``req`` with ``TIMEOUT ms`` appended to each query (``0``: no server timeout)."""
    if not any(is_query(c) for c in req.cmds):
        return req
    return Pipe([(*c, "TIMEOUT", str(ms)) if is_query(c) else c for c in req.cmds], tolerant=req.tolerant)


def _says_timeout(reply: Any) -> bool:
    if isinstance(reply, Exception):
        return TIMEOUT_TEXT in str(reply).lower()
    if isinstance(reply, dict):
        warnings = reply.get(b"warning", reply.get("warning")) or []
        return any(TIMEOUT_TEXT in (w.decode() if isinstance(w, bytes) else str(w)).lower() for w in warnings)
    return False


def timed_out(req: Pipe, replies: list[Any]) -> bool:
    """Whether a query of ``req`` ran out of time (RESP3 warning, or an error reply)."""
    return any(is_query(c) and _says_timeout(r) for c, r in zip(req.cmds, replies))


def is_timeout_reply_error(exc: BaseException) -> bool:
    """Whether a raised error is the server's ``Timeout limit was reached`` (``ON_TIMEOUT fail``)."""
    return TIMEOUT_TEXT in str(exc).lower()


def speaks_resp3(client: Any) -> bool:
    """Whether ``client`` talks RESP3 (redis-py's default from 8.0), where timeouts are visible."""
    get = getattr(client, "get_connection_kwargs", None)
    kwargs = (get() if callable(get) else None) or {}
    protocol = kwargs.get("protocol")
    if protocol is None:
        import redis.connection

        protocol = getattr(redis.connection, "DEFAULT_RESP_VERSION", 2)
    return str(protocol) == "3"


def timeout_error(ms: int) -> SearchTimeoutError:
    """The error raised after a query timed out on both attempts."""
    return SearchTimeoutError(
        f"A RediSearch query ran out of its {ms:,} ms timeout twice (the server was busy or the "
        "index is large) and would have returned partial results, so none were returned. Raise "
        "the store's query_timeout= (seconds; None: no server timeout), or lighten the load on Redis."
    )
