"""``RedisStore``: the synchronous LangGraph ``BaseStore`` on Redis (RediSearch).

Example:
    >>> from langmem_ext.store import RedisStore
    >>> with RedisStore.from_conn_string(url) as store:  # doctest: +SKIP
    ...     store.put(("users", "u1"), "prefs", {"theme": "dark"})
    ...     store.get(("users", "u1"), "prefs").value
    {'theme': 'dark'}
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import redis
from langgraph.store.base import NOT_PROVIDED, Item, NotProvided, Op, Result, SearchItem, TTLConfig, _ensure_ttl
from redis.exceptions import NoScriptError, ResponseError

from langmem_ext._background import drain
from langmem_ext._wire import send_raw
from langmem_ext.connection import DEFAULT_CONNECT_TIMEOUT, DEFAULT_RETRIES, check_server, connect
from langmem_ext.limits import Limits
from langmem_ext.store._namespaces import NamespaceCount
from langmem_ext.store._numbers import ItemNumbers
from langmem_ext.store._resp import TOUCH_LUA, WRITE_LUA, Check, Embed, EmbedQueries, Pipe
from langmem_ext.store._timeout import is_query, is_timeout_reply_error, timed_out, timeout_error
from langmem_ext.store.base import DEFAULT_QUERY_TIMEOUT, BaseRedisStore, Gen, store_options
from langmem_ext.store.schema import RedisIndexConfig, SearchMode

__all__ = ["RedisStore"]


def raw_replies(req: Pipe, replies: list[Any]) -> list[Any]:
    """``replies`` of :func:`langmem_ext._wire.send_raw` to ``req``; the first error raised unless ``req.tolerant``."""
    if not req.tolerant:
        error = next((r for r in replies if isinstance(r, ResponseError)), None)
        if error is not None:
            raise error
    return replies


def _execute(client: Any, req: Pipe) -> list[Any]:
    # Raw, chunked, on one pooled connection (see langmem_ext._wire): Redis starts on the
    # first chunk while the rest are packed and sent.
    replies = send_raw(client, req.cmds)
    if replies is not None:
        return raw_replies(req, replies)
    if len(req.cmds) == 1 and not req.tolerant:  # one command: skip the pipeline machinery
        return [client.execute_command(*req.cmds[0])]
    pipe = client.pipeline(transaction=False)  # e.g. a RedisCluster client
    for cmd in req.cmds:
        pipe.execute_command(*cmd)
    return pipe.execute(raise_on_error=not req.tolerant)


def run_pipe(client: Any, req: Pipe) -> list[Any]:
    """Execute a :class:`Pipe` on a sync client, reloading scripts once if the server lost them."""
    for attempt in (0, 1):
        try:
            return _execute(client, req)
        except NoScriptError:
            if attempt:
                raise
            client.script_load(WRITE_LUA)
            client.script_load(TOUCH_LUA)
    raise AssertionError("unreachable")


class RedisStore(BaseRedisStore):
    """A LangGraph store on Redis 8 / Redis Stack >= 7.2: hashes + one RediSearch index.

    Semantics are InMemoryStore's (LangGraph's own store tests pass unchanged); exact
    matches are hashed TAG tokens, so namespaces and keys may hold any characters.

    Args:
        client: a ``redis.Redis`` with ``decode_responses=False`` (see
            :func:`langmem_ext.connection.connect`).
        index: ``{"dims", "embed", "fields"}`` as LangGraph's ``IndexConfig``, plus
            ``mode`` (``"vector"`` default, ``"text"``, ``"hybrid"``), ``algorithm``
            (``"hnsw"``/``"flat"``), ``m``, ``ef_construction``, ``ef_runtime`` (HNSW
            defaults 16 / 100 / 50; their recall is in docs/store.md), ``rrf_k``.
        ttl: ``{"default_ttl": minutes, "refresh_on_read": bool}``; expiry is native.
        key_prefix: prefix of every key, so several stores can share one Redis (the same
            option as ``RedisSaver``'s; ``prefix=`` is its deprecated name).
        query_timeout: each RediSearch query's ``TIMEOUT`` in seconds (default 2.0; None: no
            server timeout; ``query_timeout_ms=`` is its deprecated name, in milliseconds). A query that runs out of time is retried once, then raises
            :class:`~langmem_ext.store.SearchTimeoutError` instead of returning partial
            results. Over RESP2, where the server cannot report a timeout, queries are
            sent without one.
        limits: size limits checked before any write or search (value, indexed text,
            namespace labels, key, query; see :class:`langmem_ext.limits.Limits`);
            ``None`` uses the defaults. Over a limit, :class:`~langmem_ext.limits.LimitExceededError`
            (a ``ValueError``) names it and nothing is written.

    ``setup()`` is idempotent and also runs on first use.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        index: RedisIndexConfig | None = None,
        ttl: TTLConfig | None = None,
        key_prefix: str | None = None,
        limits: Limits | None = None,
        query_timeout: float | None = DEFAULT_QUERY_TIMEOUT,
        **deprecated: Any,
    ) -> None:
        prefix, ms = store_options(type(self).__name__, deprecated, key_prefix=key_prefix, query_timeout=query_timeout)
        super().__init__(client, index=index, ttl=ttl, prefix=prefix, limits=limits, query_timeout_ms=ms)  # type: ignore[arg-type]

    @classmethod
    @contextmanager
    def from_conn_string(
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
    ) -> Iterator[RedisStore]:
        """A set-up store on a new connection to ``url``, closed on exit.

        Before the connection closes, the background work that uses the store (pending
        background reflections, recall statistics) runs and is waited for, bounded by
        the reflection's ``exit_timeout`` (see :mod:`langmem_ext._background`).
        ``connect_timeout`` (seconds) and ``retries`` as ``RedisSaver.from_conn_string``'s.
        """
        client = connect(url, connect_timeout=connect_timeout, retries=retries)
        store = None
        try:
            store = cls(client, index=index, ttl=ttl, key_prefix=key_prefix, limits=limits, query_timeout=query_timeout,
                        **deprecated)
            store.setup()
            yield store
        finally:
            try:
                if store is not None:
                    drain(store)
            finally:
                client.close()

    # -- driver
    def _answer(self, req: Any) -> Any:
        if isinstance(req, Pipe):
            return self._run_pipe(req)
        if isinstance(req, Embed):
            return self.embeddings.embed_documents(req.texts)  # type: ignore[union-attr]
        if isinstance(req, EmbedQueries):
            return [self.embeddings.embed_query(q) for q in req.texts]  # type: ignore[union-attr]
        if isinstance(req, Check):
            return check_server(self._sync_client(), modules=("search",))
        raise TypeError(f"unknown request {req!r}")

    def _sync_client(self) -> redis.Redis:
        return self._client

    def _run_pipe(self, req: Pipe) -> list[Any]:
        """Run ``req``; a query that ran out of time is retried once, then raises."""
        client = self._sync_client()
        req = self._with_timeout(req, client)
        if not any(is_query(c) for c in req.cmds):
            return run_pipe(client, req)
        for _ in (0, 1):
            try:
                replies = run_pipe(client, req)
            except ResponseError as exc:  # ON_TIMEOUT fail
                if not is_timeout_reply_error(exc):
                    raise
                continue
            if not timed_out(req, replies):
                return replies
        raise timeout_error(self.query_timeout_ms or 0)

    def _drive(self, gen: Gen) -> Any:
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
                reply = self._answer(req)
            except Exception as exc:  # handed to the generator, which may explain it
                error = exc

    # -- API
    def setup(self) -> None:
        """Create or migrate the index (idempotent; versioned in Redis)."""
        self._ready = False
        self._drive(self._setup_gen())

    def batch(self, ops: Iterable[Op], *, modes: Mapping[int, SearchMode] | None = None) -> list[Result]:
        """``BaseStore.batch`` plus ``modes``: a ranking per search op, by its index in ``ops``.

        Args:
            ops: the operations, run as InMemoryStore runs them (reads see the state
                before the batch's writes).
            modes: ``{index of a SearchOp in ops: "vector" | "text" | "hybrid"}``;
                searches not named rank by the index's ``mode``. Needs an index (see
                :attr:`search_modes`); anything else raises ``ValueError``.
        """
        return self._drive(self._batch_gen(ops, modes))

    async def abatch(self, ops: Iterable[Op], *, modes: Mapping[int, SearchMode] | None = None) -> list[Result]:
        """Async :meth:`batch` (runs the sync client in a thread)."""
        ops = list(ops)
        return await asyncio.get_running_loop().run_in_executor(None, lambda: self.batch(ops, modes=modes))

    def search(  # type: ignore[override]
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
        """``BaseStore.search`` plus ``mode`` to override the index's default ranking."""
        if mode is None:
            return super().search(namespace_prefix, query=query, filter=filter, limit=limit,
                                  offset=offset, refresh_ttl=refresh_ttl)
        op = self._mode_op(namespace_prefix, query=query, filter=filter, limit=limit,
                           offset=offset, refresh_ttl=refresh_ttl, mode=mode)
        return self._drive(self._batch_gen([op], {0: mode}))[0]

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
        """``BaseStore.asearch`` plus ``mode`` (runs the sync client in a thread)."""
        if mode is None:
            return await super().asearch(namespace_prefix, query=query, filter=filter, limit=limit,
                                         offset=offset, refresh_ttl=refresh_ttl)
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.search(namespace_prefix, query=query, filter=filter, limit=limit,
                                      offset=offset, refresh_ttl=refresh_ttl, mode=mode))

    def put_if_version(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        *,
        expected_version: int | None,
        index: list[str] | bool | None = None,
        ttl: float | None | NotProvided = NOT_PROVIDED,
    ) -> int | None:
        """Compare-and-set: write only if the item's version is ``expected_version``.

        ``expected_version=None`` means "the item must not exist". Versions start at 1
        and grow by one on every write (``put`` included); read them with
        :meth:`get_with_version`. Atomic in Redis (one Lua script).

        Returns:
            The new version, or ``None`` if another writer got there first.
        """
        return self._drive(self._put_if_version_gen(namespace, key, value, expected_version, index,
                                                    _ensure_ttl(self.ttl_config, ttl)))

    def get_with_version(self, namespace: tuple[str, ...], key: str) -> tuple[Item | None, int | None]:
        """The item and its version (``(None, None)`` if absent), for :meth:`put_if_version`."""
        return self._drive(self._version_gen(namespace, key))

    def delete_namespace_prefix(self, prefix: Sequence[str]) -> int:
        """Delete every item whose namespace starts with ``prefix``; returns how many."""
        return self._drive(self._delete_prefix_gen(prefix))

    def count_namespaces(self, prefix: Sequence[str] = (), *, depth: int | None = None) -> list[NamespaceCount]:
        """Items and the last write per namespace under ``prefix``, from the index alone (no item is read).

        Labels match exactly (``"*"`` is no wildcard). ``depth``: only namespaces of that
        many labels. Sorted by namespace.
        """
        return self._drive(self._count_gen(prefix, depth))

    def numbers(self, namespace: Sequence[str], paths: Sequence[Sequence[str]] = (), *,
                times: Sequence[Sequence[str]] = (), filter: dict[str, Any] | None = None) -> list[ItemNumbers]:
        """The numbers at ``paths`` and the ISO 8601 date-times at ``times`` of every item of
        ``namespace``, without reading the values.

        Only items exactly in ``namespace`` (not deeper ones) that match ``filter`` (which
        must be one the index answers exactly: equality, ``$ne``, ``$in``, ranges on
        indexed numbers). Numbers come back with the 12 significant digits RediSearch keeps;
        date-times to the microsecond. A row whose ``complete`` is False was written before
        these fields were stored: read its value for the paths it lacks.

        Example:
            >>> from langmem_ext.server import EmbeddedRedis
            >>> with EmbeddedRedis() as server, RedisStore.from_conn_string(server.url) as store:
            ...     store.put(("docs",), "a", {"score": 3, "seen": "2025-01-02T03:04:05Z", "tag": "x"})
            ...     store.put(("docs",), "b", {"score": 5, "tag": "y"})
            ...     rows = store.numbers(("docs",), [("score",)], times=[("seen",)], filter={"tag": "x"})
            >>> [(r.key, r.numbers, r.times[("seen",)].isoformat()) for r in rows]
            [('a', {('score',): 3.0}, '2025-01-02T03:04:05+00:00')]
        """
        return self._drive(self._numbers_gen(namespace, paths, times, filter))

    async def anumbers(self, namespace: Sequence[str], paths: Sequence[Sequence[str]] = (), *,
                       times: Sequence[Sequence[str]] = (), filter: dict[str, Any] | None = None) -> list[ItemNumbers]:
        """Async twin of :meth:`numbers` (runs the sync client in a thread)."""
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.numbers(namespace, paths, times=times, filter=filter))

    def scan_namespace_prefix(self, prefix: Sequence[str]) -> int:
        """How many Redis keys (items and their extra vectors) are left under ``prefix``.

        Walks the keyspace with SCAN instead of asking the index, so it verifies an
        erasure independently of the search index (e.g. after :meth:`delete_namespace_prefix`).
        """
        return self._drive(self._scan_prefix_gen(prefix))

    async def acount_namespaces(self, prefix: Sequence[str] = (), *, depth: int | None = None) -> list[NamespaceCount]:
        """Async twin of :meth:`count_namespaces`."""
        return await asyncio.get_running_loop().run_in_executor(None, lambda: self.count_namespaces(prefix, depth=depth))

    async def ascan_namespace_prefix(self, prefix: Sequence[str]) -> int:
        """Async twin of :meth:`scan_namespace_prefix`."""
        return await asyncio.get_running_loop().run_in_executor(None, self.scan_namespace_prefix, prefix)

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
        """Async twin of :meth:`put_if_version` (runs the sync client in a thread)."""
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.put_if_version(namespace, key, value, expected_version=expected_version,
                                              index=index, ttl=ttl))

    async def aget_with_version(self, namespace: tuple[str, ...], key: str) -> tuple[Item | None, int | None]:
        """Async twin of :meth:`get_with_version`."""
        return await asyncio.get_running_loop().run_in_executor(None, self.get_with_version, namespace, key)

    async def adelete_namespace_prefix(self, prefix: Sequence[str]) -> int:
        """Async twin of :meth:`delete_namespace_prefix`."""
        return await asyncio.get_running_loop().run_in_executor(None, self.delete_namespace_prefix, prefix)
