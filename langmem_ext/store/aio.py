"""``AsyncRedisStore``: the asyncio twin of :class:`~langmem_ext.store.redis.RedisStore`.

Same logic (``langmem_ext.store.base``), answered with an asyncio client. Its sync
methods (``put``/``get``/``batch`` ...) work too, on a blocking twin connection to
the same server, so the class can be handed to sync code.

Example:
    >>> from langmem_ext.store import AsyncRedisStore
    >>> async with AsyncRedisStore.from_conn_string(url) as store:  # doctest: +SKIP
    ...     await store.aput(("users", "u1"), "prefs", {"theme": "dark"})
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis
import redis.asyncio as aredis
from langgraph.store.base import NOT_PROVIDED, Item, NotProvided, Op, Result, SearchItem, TTLConfig, _ensure_ttl
from redis.exceptions import NoScriptError, ResponseError

from langmem_ext._background import adrain
from langmem_ext._wire import asend_raw
from langmem_ext.connection import DEFAULT_CONNECT_TIMEOUT, DEFAULT_RETRIES, acheck_server, aconnect
from langmem_ext.limits import Limits
from langmem_ext.store._namespaces import NamespaceCount
from langmem_ext.store._numbers import ItemNumbers
from langmem_ext.store._resp import TOUCH_LUA, WRITE_LUA, Check, Embed, EmbedQueries, Pipe
from langmem_ext.store._timeout import is_query, is_timeout_reply_error, timed_out, timeout_error
from langmem_ext.store.base import DEFAULT_QUERY_TIMEOUT, Gen
from langmem_ext.store.redis import RedisStore, raw_replies
from langmem_ext.store.schema import RedisIndexConfig, SearchMode

__all__ = ["AsyncRedisStore"]

_SYNC_KWARGS = ("host", "port", "db", "username", "password", "path", "socket_timeout",
                "socket_connect_timeout", "ssl_keyfile", "ssl_certfile", "ssl_ca_certs", "ssl_cert_reqs")


async def _aexecute(client: Any, req: Pipe) -> list[Any]:
    # Raw, as the sync store's _execute: redis-py's pipeline machinery costs more than the query.
    replies = await asend_raw(client, req.cmds)
    if replies is not None:
        return raw_replies(req, replies)
    if len(req.cmds) == 1 and not req.tolerant:  # one command: skip the pipeline machinery
        return [await client.execute_command(*req.cmds[0])]
    pipe = client.pipeline(transaction=False)  # e.g. a cluster client
    for cmd in req.cmds:
        pipe.execute_command(*cmd)
    return await pipe.execute(raise_on_error=not req.tolerant)


async def arun_pipe(client: Any, req: Pipe) -> list[Any]:
    """Execute a :class:`Pipe` on an asyncio client, reloading scripts once if needed."""
    for attempt in (0, 1):
        try:
            return await _aexecute(client, req)
        except NoScriptError:
            if attempt:
                raise
            await client.script_load(WRITE_LUA)
            await client.script_load(TOUCH_LUA)
    raise AssertionError("unreachable")


class AsyncRedisStore(RedisStore):
    """The asyncio LangGraph store on Redis; see :class:`RedisStore` for the options.

    Args:
        client: a ``redis.asyncio.Redis`` with ``decode_responses=False``
            (see :func:`langmem_ext.connection.aconnect`).
    """

    def __init__(
        self,
        client: aredis.Redis,
        *,
        index: RedisIndexConfig | None = None,
        ttl: TTLConfig | None = None,
        key_prefix: str | None = None,
        limits: Limits | None = None,
        query_timeout: float | None = DEFAULT_QUERY_TIMEOUT,
        **deprecated: Any,
    ) -> None:
        super().__init__(client, index=index, ttl=ttl, key_prefix=key_prefix, limits=limits,  # type: ignore[arg-type]
                         query_timeout=query_timeout, **deprecated)
        self._sync: redis.Redis | None = None

    @classmethod
    @asynccontextmanager
    async def from_conn_string(  # type: ignore[override]
        cls,
        url: str,
        *,
        index: RedisIndexConfig | None = None,
        ttl: TTLConfig | None = None,
        key_prefix: str | None = None,
        limits: Limits | None = None,
        query_timeout: float | None = DEFAULT_QUERY_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        **deprecated: Any,
    ) -> AsyncIterator[AsyncRedisStore]:
        """A set-up store on a new asyncio connection to ``url``, closed on exit (after the
        background work that uses it, as :meth:`RedisStore.from_conn_string`)."""
        client = aconnect(url, connect_timeout=connect_timeout, retries=retries)
        store = cls(client, index=index, ttl=ttl, key_prefix=key_prefix, limits=limits, query_timeout=query_timeout,
                    **deprecated)
        try:
            await store.asetup()
            yield store
        finally:
            try:
                await adrain(store)
            finally:
                if store._sync is not None:
                    store._sync.close()
                await client.aclose()

    def _sync_client(self) -> redis.Redis:
        if self._sync is None:
            pool = self._client.connection_pool
            kw = {k: pool.connection_kwargs[k] for k in _SYNC_KWARGS if k in pool.connection_kwargs}
            if "SSL" in getattr(pool, "connection_class", type(None)).__name__:
                kw["ssl"] = True  # same TLS as the asyncio client
            if "path" in kw:
                kw = {k: v for k, v in kw.items() if k not in ("host", "port")}
                kw["unix_socket_path"] = kw.pop("path")
            self._sync = redis.Redis(**kw)
        return self._sync

    async def _arun_pipe(self, req: Pipe) -> list[Any]:
        """Async twin of :meth:`RedisStore._run_pipe`."""
        req = self._with_timeout(req, self._client)
        if not any(is_query(c) for c in req.cmds):
            return await arun_pipe(self._client, req)
        for _ in (0, 1):
            try:
                replies = await arun_pipe(self._client, req)
            except ResponseError as exc:  # ON_TIMEOUT fail
                if not is_timeout_reply_error(exc):
                    raise
                continue
            if not timed_out(req, replies):
                return replies
        raise timeout_error(self.query_timeout_ms or 0)

    async def _aanswer(self, req: Any) -> Any:
        if isinstance(req, Pipe):
            return await self._arun_pipe(req)
        if isinstance(req, Embed):
            return await self.embeddings.aembed_documents(req.texts)  # type: ignore[union-attr]
        if isinstance(req, EmbedQueries):
            return await asyncio.gather(*(self.embeddings.aembed_query(q) for q in req.texts))  # type: ignore[union-attr]
        if isinstance(req, Check):
            return await acheck_server(self._client, modules=("search",))
        raise TypeError(f"unknown request {req!r}")

    async def _adrive(self, gen: Gen) -> Any:
        gen = self._healing(gen)
        reply: Any = None
        error: BaseException | None = None
        while True:
            try:
                req = gen.throw(error) if error is not None else gen.send(reply)
            except StopIteration as stop:
                return stop.value
            error = None
            try:
                reply = await self._aanswer(req)
            except Exception as exc:  # handed to the generator, which may explain it
                error = exc

    async def asetup(self) -> None:
        """Create or migrate the index (idempotent; versioned in Redis)."""
        self._ready = False
        await self._adrive(self._setup_gen())

    async def abatch(self, ops: Iterable[Op], *, modes: Mapping[int, SearchMode] | None = None) -> list[Result]:
        """``BaseStore.abatch`` plus ``modes`` (see :meth:`RedisStore.batch`)."""
        return await self._adrive(self._batch_gen(ops, modes))

    async def asearch(  # type: ignore[override]
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
        mode: SearchMode | None = None,
    ) -> list[SearchItem]:
        """``BaseStore.asearch`` plus ``mode`` to override the index's default ranking."""
        if mode is None:
            return await super().asearch(namespace_prefix, query=query, filter=filter, limit=limit,
                                         offset=offset, refresh_ttl=refresh_ttl)
        op = self._mode_op(namespace_prefix, query=query, filter=filter, limit=limit,
                           offset=offset, refresh_ttl=refresh_ttl, mode=mode)
        return (await self._adrive(self._batch_gen([op], {0: mode})))[0]

    async def aput_if_version(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        *,
        expected_version: int | None,
        index: list[str] | bool | None = None,
        ttl: float | None | NotProvided = NOT_PROVIDED,
    ) -> int | None:
        """Async twin of :meth:`RedisStore.put_if_version`."""
        return await self._adrive(self._put_if_version_gen(namespace, key, value, expected_version, index,
                                                           _ensure_ttl(self.ttl_config, ttl)))

    async def aget_with_version(self, namespace: tuple[str, ...], key: str) -> tuple[Item | None, int | None]:
        """Async twin of :meth:`RedisStore.get_with_version`."""
        return await self._adrive(self._version_gen(namespace, key))

    async def adelete_namespace_prefix(self, prefix: Sequence[str]) -> int:
        """Async twin of :meth:`RedisStore.delete_namespace_prefix`."""
        return await self._adrive(self._delete_prefix_gen(prefix))

    async def acount_namespaces(self, prefix: Sequence[str] = (), *, depth: int | None = None) -> list[NamespaceCount]:
        """Async twin of :meth:`RedisStore.count_namespaces`."""
        return await self._adrive(self._count_gen(prefix, depth))

    async def anumbers(self, namespace: Sequence[str], paths: Sequence[Sequence[str]] = (), *,
                       times: Sequence[Sequence[str]] = (), filter: dict[str, Any] | None = None) -> list[ItemNumbers]:
        """Async twin of :meth:`RedisStore.numbers`."""
        return await self._adrive(self._numbers_gen(namespace, paths, times, filter))

    async def ascan_namespace_prefix(self, prefix: Sequence[str]) -> int:
        """Async twin of :meth:`RedisStore.scan_namespace_prefix`."""
        return await self._adrive(self._scan_prefix_gen(prefix))
