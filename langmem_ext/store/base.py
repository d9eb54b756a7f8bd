"""The store's logic, shared line for line by the sync and async classes (no I/O here).

Every operation is a generator that yields requests (:class:`Pipe`, :class:`Embed`,
:class:`EmbedQueries`, :class:`Check`) and receives their results; the sync class
answers them with a blocking client, the async class with an asyncio client. See
:mod:`langmem_ext.store._keys` for the key and field design.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchOp,
    TTLConfig,
    ensure_embeddings,
    tokenize_path,
    validate_op_namespace,
)
from langgraph.store.base import NOT_PROVIDED, _ensure_refresh

from langmem_ext._options import check_positive, deprecated_options, warn_deprecated
from langmem_ext.limits import Limits
from langmem_ext.store import _keys as K
from langmem_ext.store._heal import index_missing, lost_in
from langmem_ext.store._limits import check_namespace_limits, check_query_limit
from langmem_ext.store._puts import OLD_FIELDS, EmbeddingError, PutsMixin, write_command
from langmem_ext.store._resp import (
    TOUCH_LUA,
    WRITE_LUA,
    Check,
    EmbedQueries,
    Pipe,
    build_item,
    parse_aggregate,
    parse_attributes,
    parse_search,
    sha1,
)
from langmem_ext.store._namespaces import NamespacesMixin
from langmem_ext.store._numbers import NumbersMixin
from langmem_ext.store._search import SearchMixin
from langmem_ext.store._timeout import speaks_resp3, with_query_timeout
from langmem_ext.store._together import together
from langmem_ext.store.schema import (
    MIGRATIONS,
    IncompatibleIndexError,
    SearchMode,
    index_name,
    normalize_index,
    normalize_ttl,
    numeric_command,
    vector_commands,
)

__all__ = ["BaseRedisStore", "EmbeddingError"]

#: Per-query RediSearch timeout in seconds (the server's own default is 0.5 s, with partial results).
DEFAULT_QUERY_TIMEOUT = 2.0
DEFAULT_QUERY_TIMEOUT_MS = 2_000  # the same, in the milliseconds RediSearch's TIMEOUT takes
#: Default key prefix of the store's Redis keys.
DEFAULT_STORE_KEY_PREFIX = "langmem"


def store_options(owner: str, legacy: dict[str, Any], *, key_prefix: str | None,
                  query_timeout: float | None) -> tuple[str, int | None]:
    """``(key_prefix, query timeout in ms)`` from the options as given (``prefix=`` and
    ``query_timeout_ms=`` are deprecated names; ``query_timeout`` is in seconds, None: no timeout)."""
    ms = legacy.pop("query_timeout_ms", NOT_PROVIDED)
    opts = deprecated_options(owner, legacy, {"prefix": "key_prefix"}, key_prefix=key_prefix)
    key_prefix = opts["key_prefix"] if opts["key_prefix"] is not None else DEFAULT_STORE_KEY_PREFIX
    if ms is not NOT_PROVIDED:
        if query_timeout != DEFAULT_QUERY_TIMEOUT:
            raise TypeError(f"{owner}: give query_timeout= (seconds) only; query_timeout_ms= is its deprecated name.")
        warn_deprecated(f"{owner}(query_timeout_ms=...) is deprecated; use query_timeout=... in seconds.")
        if ms is not None and (isinstance(ms, bool) or not isinstance(ms, int) or ms <= 0):
            raise ValueError(f"{owner}: query_timeout_ms must be a positive int (or None: no server timeout), got {ms!r}.")
        return key_prefix, ms
    if query_timeout is None:
        return key_prefix, None
    check_positive(owner, query_timeout=query_timeout)
    return key_prefix, max(1, round(float(query_timeout) * 1000))
#: Numeric value paths given their own NUMERIC attribute; ranges on others are checked in Python.
MAX_NUMERIC_PATHS = 256


Gen = Generator[Any, Any, Any]


def _resolve_embed(embed: Any) -> Any:
    if isinstance(embed, str) and embed.startswith("langmem-ext:"):
        from langmem_ext.embeddings import resolve_embeddings

        return resolve_embeddings(embed)
    return ensure_embeddings(embed)


class BaseRedisStore(NamespacesMixin, NumbersMixin, SearchMixin, PutsMixin, BaseStore):
    """Shared state and logic of :class:`RedisStore` and :class:`AsyncRedisStore`."""

    supports_ttl = True

    def __init__(
        self,
        client: Any,
        *,
        index: dict[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        prefix: str = "langmem",
        limits: Limits | None = None,
        query_timeout_ms: int | None = DEFAULT_QUERY_TIMEOUT_MS,
    ) -> None:
        if query_timeout_ms is not None and (
            isinstance(query_timeout_ms, bool) or not isinstance(query_timeout_ms, int) or query_timeout_ms <= 0
        ):
            raise ValueError(f"query_timeout_ms must be a positive int (or None: no server timeout), got {query_timeout_ms!r}.")
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError(f"limits must be a langmem_ext.limits.Limits (or None for the defaults), got {limits!r}.")
        if not isinstance(prefix, str) or not prefix or any(c in prefix for c in " {}:*"):
            raise ValueError(f"prefix must be a non-empty string without spaces, braces, ':' or '*', got {prefix!r}.")
        kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {}) or {}
        if kwargs.get("decode_responses"):
            raise ValueError(
                "The store needs a Redis client with decode_responses=False (vectors are binary); "
                "create it with langmem_ext.connection.connect(url)."
            )
        self._client = client
        self.prefix = prefix
        self.limits = limits if limits is not None else Limits()
        self.query_timeout_ms = query_timeout_ms
        self._resp3: dict[int, bool] = {}
        self.index_config = normalize_index(index)
        self.ttl_config = normalize_ttl(ttl)
        self.embeddings = _resolve_embed(self.index_config["embed"]) if self.index_config else None
        self._tokenized = [
            (p, tokenize_path(p) if p != "$" else p) for p in (self.index_config or {}).get("fields", [])
        ]
        self._numeric: set[tuple[str, ...]] = set()
        self._numeric_full = False
        self._ready = False
        self._write_sha = sha1(WRITE_LUA)
        self._touch_sha = sha1(TOUCH_LUA)
        self._idx = index_name(prefix)
        self._meta = K.meta_key(prefix)

    @property
    def key_prefix(self) -> str:
        """The prefix of every key of this store (``RedisStore(key_prefix=...)``)."""
        return self.prefix

    @property
    def query_timeout(self) -> float | None:
        """Each RediSearch query's timeout in seconds (None: no server timeout)."""
        return None if self.query_timeout_ms is None else self.query_timeout_ms / 1000

    def _with_timeout(self, req: Pipe, client: Any) -> Pipe:
        """``req`` with each query's ``TIMEOUT``: ``query_timeout_ms`` where a timeout is
        visible (RESP3), else 0 (no server timeout, so never partial results)."""
        resp3 = self._resp3.get(id(client))
        if resp3 is None:
            resp3 = self._resp3[id(client)] = speaks_resp3(client)
        return with_query_timeout(req, (self.query_timeout_ms or 0) if resp3 else 0)

    # ------------------------------------------------------------------ setup
    def _setup_gen(self) -> Gen:
        yield Check()
        version = (yield Pipe([("HGET", self._meta, "version")]))[0]
        version = int(version or 0)
        for step in MIGRATIONS[version:]:
            replies = yield Pipe(list(step(self.prefix)), tolerant=True)
            for reply in replies:
                if isinstance(reply, Exception) and "already exists" not in str(reply).lower():
                    raise reply
            version += 1
            yield Pipe([("HSET", self._meta, "version", str(version))])
        attrs = parse_attributes((yield Pipe([("FT.INFO", self._idx)]))[0])
        if self.index_config:
            vec = attrs.get("vec")
            if vec is not None:
                dim = vec.get("dim", vec.get("dimension"))
                if dim is not None and int(dim) != self.index_config["dims"]:
                    raise IncompatibleIndexError(
                        f"The index {self._idx} holds {int(dim)}-dimensional vectors but this store "
                        f"embeds {self.index_config['dims']}; use another prefix= or drop the index."
                    )
            cmds = vector_commands(self.prefix, self.index_config, set(attrs))
            if cmds:
                for reply in (yield Pipe(cmds, tolerant=True)):
                    if isinstance(reply, Exception) and "duplicate" not in str(reply).lower():
                        raise reply
        members, full = yield Pipe([("SMEMBERS", self._meta + ":num"), ("HGET", self._meta, "numeric_full")])
        self._numeric = {tuple(json.loads(m)) for m in members}
        self._numeric_full = bool(full)
        self._ready = True

    # ------------------------------------------------------------------ healing
    def _healing(self, gen: Gen) -> Gen:
        """``gen``, healed once if the index is gone (a FLUSHALL, a restart without persistence;
        see :mod:`langmem_ext.store._heal`): the request that met the missing index is sent again
        after :meth:`_heal_gen`, and a second failure reaches ``gen`` as any error does.
        Both drivers run every operation through it."""
        reply: Any = None
        error: BaseException | None = None
        healed = False
        while True:
            try:
                req = gen.throw(error) if error is not None else gen.send(reply)
            except StopIteration as stop:
                return stop.value
            reply, error = None, None
            try:
                reply = yield req
            except Exception as exc:
                if healed or not index_missing(exc):
                    error = exc
                    continue
            else:
                if healed or not (isinstance(req, Pipe) and req.tolerant and lost_in(reply)):
                    continue
            healed = True
            try:
                yield from self._heal_gen()
                reply = yield req
            except Exception as exc:
                reply, error = None, exc

    def _heal_gen(self) -> Gen:
        """Re-create a lost index: when ``FT.INFO`` confirms it is gone, forget what the meta hash
        says about it (its version and numeric attributes) and run the idempotent setup again."""
        self._ready = False
        (info,) = yield Pipe([("FT.INFO", self._idx)], tolerant=True)
        if isinstance(info, Exception):
            yield Pipe([("HDEL", self._meta, "version", "numeric_full"), ("DEL", self._meta + ":num")])
        yield from self._setup_gen()

    def _ensure_ready(self) -> Gen:
        if not self._ready:
            yield from self._setup_gen()

    # ------------------------------------------------------------------ batch
    @property
    def search_modes(self) -> tuple[SearchMode, ...]:
        """The rankings ``search(..., mode=...)`` and ``batch(..., modes=...)`` accept here:
        ``("vector", "text", "hybrid")`` with an index, ``()`` without one."""
        return ("vector", "text", "hybrid") if self.index_config else ()

    def _check_modes(self, ops: list[Op], modes: Mapping[int, SearchMode] | None) -> None:
        for i, mode in (modes or {}).items():
            if mode not in ("vector", "text", "hybrid"):
                raise ValueError(f"modes[{i!r}] must be 'vector', 'text' or 'hybrid', got {mode!r}.")
            if not isinstance(i, int) or not 0 <= i < len(ops) or not isinstance(ops[i], SearchOp):
                raise ValueError(f"modes keys must be indexes of SearchOps in ops; {i!r} is not one.")
            if not self.index_config:
                raise ValueError("Search modes need a store created with index={'dims': ..., 'embed': ...}.")

    def _batch_gen(self, ops: Iterable[Op], modes: Mapping[int, SearchMode] | None = None) -> Gen:
        ops = list(ops)
        self._check_modes(ops, modes)
        results: list[Result] = [None] * len(ops)
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for op in ops:
            validate_op_namespace(op)
            if isinstance(op, PutOp):
                if not op.namespace:
                    raise InvalidNamespaceError("Namespace cannot be empty.")
                puts[(op.namespace, op.key)] = op
            elif isinstance(op, SearchOp):
                check_namespace_limits(self.limits, op.namespace_prefix)
                check_query_limit(self.limits, op.query)
            elif not isinstance(op, (GetOp, ListNamespacesOp)):
                raise ValueError(f"Unknown operation type: {type(op).__name__}")
        now = time.time_ns() // 1000
        prepared = [self._prepare_put(op, now + i) for i, op in enumerate(puts.values())]
        yield from self._ensure_ready()

        # Reads first, as InMemoryStore: a batch's reads see the state before its writes.
        reads: list[tuple[Any, ...]] = []
        slots: list[tuple[str, int]] = []
        for i, op in enumerate(ops):
            if isinstance(op, GetOp):
                reads.append(("HMGET", K.item_key(self.prefix, op.namespace, op.key), *K.ITEM_FIELDS))
                slots.append(("get", i))
                if op.refresh_ttl:
                    reads.append(("EVALSHA", self._touch_sha, 1, K.item_key(self.prefix, op.namespace, op.key)))
                    slots.append(("touch", i))
            elif isinstance(op, ListNamespacesOp):
                reads.append(self._list_command(op))
                slots.append(("list", i))
        embedded = self._vector_puts(prepared)
        for p in embedded:
            reads.append(("HMGET", p.rkey, *OLD_FIELDS))
            slots.append(("old", 0))
        replies = (yield Pipe(reads)) if reads else []
        olds = []
        for (kind, i), reply in zip(slots, replies):
            if kind == "get":
                fields = dict(zip(K.ITEM_FIELDS, reply))
                results[i] = build_item(fields) if fields["k"] is not None else None
            elif kind == "list":
                results[i] = self._list_result(ops[i], parse_aggregate(reply))  # type: ignore[arg-type]
            elif kind == "old":
                olds.append(reply)

        searches = [(i, op) for i, op in enumerate(ops) if isinstance(op, SearchOp)]
        if searches:
            qvecs: dict[str, list[float]] = {}
            queries = sorted({op.query for _, op in searches if op.query and self.embeddings})
            if queries and any(self._mode(op, modes, i) != "text" for i, op in searches):
                qvecs = dict(zip(queries, (yield EmbedQueries(queries))))
            found = yield from together([self._search_gen(op, self._mode(op, modes, i), qvecs.get(op.query or ""))
                                         for i, op in searches])  # one round trip for all of them
            for (i, _), items in zip(searches, found):
                results[i] = items

        if prepared:
            yield from self._embed_puts(embedded, olds)
            yield from self._register_numeric(prepared)
            yield Pipe([self._write_command(p, now, expected="") for p in prepared])
        return results

    def _mode_op(
        self,
        namespace_prefix: tuple[str, ...],
        *,
        query: str | None,
        filter: dict[str, Any] | None,
        limit: int,
        offset: int,
        refresh_ttl: bool | None,
        mode: SearchMode,
    ) -> SearchOp:
        if mode not in ("vector", "text", "hybrid"):
            raise ValueError(f"mode must be 'vector', 'text' or 'hybrid', got {mode!r}.")
        if not self.index_config:
            raise ValueError("search(mode=...) needs a store created with index={'dims': ..., 'embed': ...}.")
        op = SearchOp(tuple(namespace_prefix), filter, limit, offset, query,
                      _ensure_refresh(self.ttl_config, refresh_ttl))
        validate_op_namespace(op)
        return op

    def _mode(self, op: SearchOp, modes: Mapping[int, SearchMode] | None, i: int) -> SearchMode:
        if modes and i in modes:
            return modes[i]
        return (self.index_config or {}).get("mode", "vector")

    # ------------------------------------------------------------------ puts
    def _register_numeric(self, prepared: list[_Put]) -> Gen:
        """Give new numeric value paths a NUMERIC attribute (up to MAX_NUMERIC_PATHS).

        Beyond the cap (or if the server refuses), the store records that some numbers
        are unindexed, and range filters on unregistered paths are then checked in Python.
        """
        new = {path for p in prepared for path in p.numeric} - self._numeric
        full = any(p.truncated for p in prepared)
        room = max(MAX_NUMERIC_PATHS - len(self._numeric), 0)
        take = sorted(new)[:room]
        full = full or len(take) < len(new)
        if take:
            cmds: list[tuple[Any, ...]] = []
            for path in take:
                cmds += [numeric_command(self.prefix, path), ("SADD", self._meta + ":num", json.dumps(list(path)))]
            replies = yield Pipe(cmds, tolerant=True)
            for path, alter in zip(take, replies[::2]):
                if isinstance(alter, Exception) and "duplicate" not in str(alter).lower():
                    full = True  # e.g. the server's attribute limit: keep writing, filter in Python
                    yield Pipe([("SREM", self._meta + ":num", json.dumps(list(path)))])
                else:
                    self._numeric.add(path)
        if full and not self._numeric_full:
            yield Pipe([("HSET", self._meta, "numeric_full", "1")])
            self._numeric_full = True

    # --------------------------------------------------------- compare-and-set
    def _put_if_version_gen(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any] | None,
        expected_version: int | None,
        index: Any,
        ttl: Any,
    ) -> Gen:
        if expected_version is not None and (not isinstance(expected_version, int) or expected_version < 1):
            raise ValueError(f"expected_version must be None (item absent) or a version >= 1, got {expected_version!r}.")
        op = PutOp(tuple(namespace), key, value, index, ttl=ttl)
        validate_op_namespace(op)
        now = time.time_ns() // 1000
        p = self._prepare_put(op, now)
        yield from self._ensure_ready()
        embedded = self._vector_puts([p])
        if embedded:
            olds = yield Pipe([("HMGET", p.rkey, *OLD_FIELDS)])
            yield from self._embed_puts(embedded, olds)
        yield from self._register_numeric([p])
        reply = (yield Pipe([self._write_command(p, now, expected=str(expected_version or 0))]))[0]
        if reply is None or reply is False:
            return None
        return int(reply)

    def _version_gen(self, namespace: tuple[str, ...], key: str) -> Gen:
        yield from self._ensure_ready()
        rkey = K.item_key(self.prefix, tuple(namespace), key)
        fields = dict(zip(K.ITEM_FIELDS, (yield Pipe([("HMGET", rkey, *K.ITEM_FIELDS)]))[0]))
        if fields["k"] is None:
            return None, None
        return build_item(fields), int(fields["ver"] or 0)

    # ------------------------------------------------------------ prefix delete
    def _delete_prefix_gen(self, prefix: Sequence[str]) -> Gen:
        prefix = tuple(prefix)
        validate_op_namespace(SearchOp(prefix))
        if not prefix:
            raise InvalidNamespaceError("delete_namespace_prefix needs a non-empty prefix; it never deletes everything.")
        yield from self._ensure_ready()
        query = f"@r:{{1}} @p:{{{K.prefix_tokens(prefix)[-1]}}}"
        deleted = 0
        while True:
            reply = (yield Pipe([("FT.SEARCH", self._idx, query, "NOCONTENT", "LIMIT", "0", "500", "DIALECT", "2")]))[0]
            ids = [h.id for h in parse_search(reply).rows]
            if not ids:
                return deleted
            yield Pipe([write_command(self._write_sha, rk, 0, expected="") for rk in ids])
            deleted += len(ids)

    # ------------------------------------------------------------ TTL
    def sweep_ttl(self) -> int:
        """Nothing to sweep: items expire natively (Redis key expiry). Returns 0."""
        return 0

    async def asweep_ttl(self) -> int:
        """Async twin of :meth:`sweep_ttl`."""
        return 0

    def start_ttl_sweeper(self, sweep_interval_minutes: int | None = None) -> Any:
        """A finished future: native expiry needs no sweeper."""
        import concurrent.futures

        fut: concurrent.futures.Future[None] = concurrent.futures.Future()
        fut.set_result(None)
        return fut

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Always True: there is no sweeper to stop."""
        return True
