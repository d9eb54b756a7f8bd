"""Redis connections with bounded timeouts, bounded retries and clear errors.

Every backend connects through here, so that an unreachable server, a port
that is not Redis and a Redis that is too old each fail fast with a message
that names the cause and the fix.

Example:
    >>> from langmem_ext.connection import connect, check_server
    >>> client = connect(url)  # doctest: +SKIP
    >>> check_server(client, modules=("search",)).version >= (7, 2)  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio as aredis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = [
    "RedisUnavailableError",
    "IncompatibleServerError",
    "ServerInfo",
    "connect",
    "aconnect",
    "check_server",
    "acheck_server",
    "DEFAULT_CONNECT_TIMEOUT",
]

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_RETRIES = 3

_MODULE_NAMES = {"search": {"search", "ft"}, "json": {"rejson", "redisjson", "json"}}


class RedisUnavailableError(ConnectionError):
    """Redis could not be reached."""


class IncompatibleServerError(RuntimeError):
    """The server answered, but is not a Redis this product can use."""


@dataclass(frozen=True)
class ServerInfo:
    """What :func:`check_server` learnt about the server."""

    version: tuple[int, int, int]
    modules: frozenset[str] = field(default_factory=frozenset)
    cluster: bool = False


def _checked_retries(retries: int) -> int:
    # redis-py reads a negative count as "retry forever": a typo would hang the caller
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an int >= 0, got {retries!r}.")
    return retries


def _retry(retries: int) -> Any:
    from redis.retry import Retry

    return Retry(ExponentialBackoff(cap=1.0, base=0.02), _checked_retries(retries))


def _async_retry(retries: int) -> Any:
    from redis.asyncio.retry import Retry

    return Retry(ExponentialBackoff(cap=1.0, base=0.02), _checked_retries(retries))


def _client_kwargs(connect_timeout: float, socket_timeout: float | None) -> dict[str, Any]:
    if connect_timeout <= 0:
        raise ValueError(f"connect_timeout must be positive seconds, got {connect_timeout!r}.")
    return {
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": socket_timeout,
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 30,
    }


def connect(
    url: str,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    socket_timeout: float | None = 30.0,
    retries: int = DEFAULT_RETRIES,
    **kwargs: Any,
) -> redis.Redis:
    """A sync client for ``url`` with bounded connect time and retries with backoff.

    The connection is opened lazily; call :func:`check_server` to fail early.
    """
    return redis.Redis.from_url(
        url, retry=_retry(retries), **_client_kwargs(connect_timeout, socket_timeout), **kwargs
    )


def aconnect(
    url: str,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    socket_timeout: float | None = 30.0,
    retries: int = DEFAULT_RETRIES,
    **kwargs: Any,
) -> aredis.Redis:
    """The asyncio twin of :func:`connect`."""
    return aredis.Redis.from_url(
        url,
        retry=_async_retry(retries),
        **_client_kwargs(connect_timeout, socket_timeout),
        **kwargs,
    )


def _where(client: Any) -> str:
    try:
        kw = client.connection_pool.connection_kwargs
        return f"{kw.get('host', '?')}:{kw.get('port', '?')}"
    except AttributeError:
        return "the configured server"


def _unavailable(client: Any, exc: Exception) -> RedisUnavailableError:
    return RedisUnavailableError(
        f"Cannot reach Redis at {_where(client)}: {exc}. Start one "
        "(`langmem-ext redis start`, or leave REDIS_URL unset to use the embedded server), "
        "or fix REDIS_URL."
    )


def _not_redis(client: Any, exc: Exception) -> IncompatibleServerError:
    return IncompatibleServerError(
        f"The server at {_where(client)} answered, but not as Redis ({exc}). "
        "Check the port in REDIS_URL."
    )


def _parse(info: dict[str, Any], module_list: Iterable[dict[Any, Any]] | None) -> ServerInfo:
    raw = str(info.get("redis_version", "0.0.0"))
    parts = [int(p) if p.isdigit() else 0 for p in raw.split(".")[:3]]
    version = tuple(parts + [0] * (3 - len(parts)))
    names: set[str] = set()
    for module in module_list or ():
        name = module.get(b"name", module.get("name", b""))
        names.add(name.decode().lower() if isinstance(name, bytes) else str(name).lower())
    return ServerInfo(
        version=version,  # type: ignore[arg-type]
        modules=frozenset(names),
        cluster=str(info.get("redis_mode", "")) == "cluster",
    )


def _validate(
    client: Any, server: ServerInfo, min_version: tuple[int, ...], modules: Iterable[str]
) -> ServerInfo:
    if server.version < tuple(min_version):
        want = ".".join(map(str, min_version))
        have = ".".join(map(str, server.version))
        raise IncompatibleServerError(
            f"Redis at {_where(client)} is version {have}; langmem-ext needs >= {want}. "
            "Use Redis 8 (or the embedded server: unset REDIS_URL)."
        )
    missing = [m for m in modules if not (_MODULE_NAMES.get(m, {m}) & server.modules)]
    if missing:
        raise IncompatibleServerError(
            f"Redis at {_where(client)} lacks the module(s) {missing}. The store needs "
            "RediSearch (the Query Engine; RedisJSON is not used): use Redis 8 / Redis Stack >= 7.2 / "
            "Redis Cloud, or the embedded server (unset REDIS_URL)."
        )
    return server


def _classify(client: Any, exc: Exception) -> Exception:
    """The error to raise for a failed first command, shared by the sync and async checks.

    Nothing answering (refused, timed out) is "unavailable"; anything that answered in a
    way redis-py cannot parse, or with an error reply, is "not Redis".
    """
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError, OSError)):
        text = str(exc).lower()
        if "protocol" in text or "invalid" in text:
            return _not_redis(client, exc)
        return _unavailable(client, exc)
    return _not_redis(client, exc)


def check_server(
    client: redis.Redis,
    *,
    min_version: tuple[int, ...] = (7, 0),
    modules: Iterable[str] = (),
) -> ServerInfo:
    """Ping the server and check its version and modules.

    Raises:
        RedisUnavailableError: nothing answered within the connect timeout.
        IncompatibleServerError: not Redis, too old, or a module is missing.
    """
    try:
        info = client.info("server")
        module_list = client.module_list() if modules else None
    except (redis.exceptions.RedisError, OSError) as exc:
        raise _classify(client, exc) from exc
    return _validate(client, _parse(info, module_list), min_version, modules)


async def acheck_server(
    client: aredis.Redis,
    *,
    min_version: tuple[int, ...] = (7, 0),
    modules: Iterable[str] = (),
) -> ServerInfo:
    """The asyncio twin of :func:`check_server`."""
    try:
        info = await client.info("server")
        module_list = await client.module_list() if modules else None
    except (redis.exceptions.RedisError, OSError) as exc:
        raise _classify(client, exc) from exc
    return _validate(client, _parse(info, module_list), min_version, modules)
