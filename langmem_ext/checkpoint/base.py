"""The I/O-free core shared by :class:`RedisSaver` and :class:`AsyncRedisSaver`.

Every operation is a generator (see ``_io.py``) that builds commands, yields them and
decodes the replies, so the sync and async savers share every line that does no I/O.
Key layout and Lua scripts: ``_keys.py`` and ``_lua.py``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ormsgpack
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from langmem_ext.checkpoint import _lua
from langmem_ext.checkpoint._io import Batch, Call, Emit, Op
from langmem_ext.checkpoint._keys import (
    ThreadKeys,
    esc,
    member,
    split_member,
    thread_keys,
)
from langmem_ext.checkpoint._limits import too_big
from langmem_ext.checkpoint._maintenance import MaintenanceMixin
from langmem_ext.checkpoint._types import (
    DEFAULT_KEY_PREFIX,
    CheckpointConfigError,
    CheckpointSerializationError,
    CheckpointTooLargeError,
    TTLConfig,
)
from langmem_ext.checkpoint.serde import MessageSerializer
from langmem_ext.limits import Limits

__all__ = ["BaseRedisSaver"]

_PAGE = 100  # checkpoints per LOAD reply
_SCAN = 500  # records per metadata scan when listing with a filter


def _ttl(ttl: TTLConfig | None) -> tuple[int, bool]:
    if ttl is None:
        return 0, False
    if not isinstance(ttl, Mapping) or set(ttl) - {"default_ttl", "refresh_on_read"}:
        raise CheckpointConfigError(
            f"ttl must be a dict with keys 'default_ttl' (minutes) and 'refresh_on_read', "
            f"got {ttl!r}."
        )
    minutes = ttl.get("default_ttl")
    if minutes is None:
        return 0, False
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0:
        raise CheckpointConfigError(
            f"ttl['default_ttl'] must be a positive number of minutes, got {minutes!r}."
        )
    return max(1, round(minutes * 60)), bool(ttl.get("refresh_on_read", False))


def _vtag(version: Any) -> str:
    if isinstance(version, str):
        return "s:" + esc(version)
    if isinstance(version, float):
        return f"f:{version!r}"
    return f"i:{version}"


def _blob_field(ns_e: str, channel: str, version: Any) -> str:
    return f"{ns_e}|{esc(channel)}|{_vtag(version)}"


class BaseRedisSaver(MaintenanceMixin, BaseCheckpointSaver[str]):
    """Shared logic of the Redis checkpointers (no I/O here).

    Args:
        client: a redis-py client (``decode_responses=False``), e.g. from
            :func:`langmem_ext.connection.connect`.
        ttl: optional :class:`TTLConfig`.
        serde: the serializer (default :class:`~langmem_ext.checkpoint.serde.MessageSerializer`:
            LangGraph's ``JsonPlusSerializer`` format, faster on messages).
        key_prefix: prefix of every key (no braces).
        max_message_bytes: refuse (before any I/O) a put or write holding a message
            whose content is larger than this; None (the default) = ``limits.message_bytes``.
        limits: :class:`langmem_ext.limits.Limits`; the saver uses ``message_bytes``
            (default 1 MiB; ``Limits(message_bytes=None)`` disables it). None = the defaults.
    """

    def __init__(
        self,
        client: Any,
        *,
        ttl: TTLConfig | None = None,
        serde: SerializerProtocol | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        max_message_bytes: int | None = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(serde=serde if serde is not None else MessageSerializer())
        if limits is not None and not isinstance(limits, Limits):
            raise CheckpointConfigError(f"limits must be a langmem_ext.limits.Limits or None, got {limits!r}.")
        if max_message_bytes is not None and (
            isinstance(max_message_bytes, bool)
            or not isinstance(max_message_bytes, int)
            or max_message_bytes <= 0
        ):
            raise CheckpointConfigError(
                f"max_message_bytes must be a positive int (or None for no limit), "
                f"got {max_message_bytes!r}."
            )
        self.max_message_bytes = (
            max_message_bytes if max_message_bytes is not None else (limits or Limits()).message_bytes
        )
        if (
            not isinstance(key_prefix, str)
            or not key_prefix
            or "{" in key_prefix
            or "}" in key_prefix
        ):
            raise CheckpointConfigError(
                f"key_prefix must be a non-empty string without braces, got {key_prefix!r}: "
                "braces would break the per-thread cluster hash tag."
            )
        get_kwargs = getattr(client, "get_connection_kwargs", None)
        if callable(get_kwargs) and get_kwargs().get("decode_responses"):
            raise CheckpointConfigError(
                "The Redis client decodes responses to str, but checkpoints are binary. "
                "Create it with decode_responses=False (the default of langmem_ext.connection.connect)."
            )
        self.client = client
        self.key_prefix = key_prefix
        self.ttl_seconds, self.refresh_on_read = _ttl(ttl)
        self._registry = f"{key_prefix}:threads"
        # Threads this process has put in the registry (score written); saves a command per put.
        self._registered: dict[str, float] = {}
        self._schema_key = f"{key_prefix}:schema"

    # -- pure helpers ---------------------------------------------------------------

    @staticmethod
    def _conf(
        config: RunnableConfig | None, *, need_id: bool = False
    ) -> tuple[Any, str, str | None]:
        conf = config.get("configurable") if isinstance(config, Mapping) else None
        if not isinstance(conf, Mapping) or conf.get("thread_id") is None:
            raise CheckpointConfigError(
                f"config has no thread_id (got {config!r}). Pass "
                "config={'configurable': {'thread_id': '...'}} so the saver knows which "
                "conversation to store."
            )
        ns = conf.get("checkpoint_ns") or ""
        cid = conf.get("checkpoint_id")
        if not isinstance(ns, str) or (cid is not None and not isinstance(cid, str)):
            raise CheckpointConfigError(
                f"checkpoint_ns and checkpoint_id must be strings, got {ns!r} and {cid!r}."
            )
        if need_id and not cid:
            raise CheckpointConfigError(
                "config has no checkpoint_id: pending writes belong to a checkpoint; pass the "
                "config returned by put()."
            )
        return conf["thread_id"], ns, cid

    def _keys(self, thread_id: Any) -> ThreadKeys:
        return thread_keys(self.key_prefix, str(thread_id))

    def _run_key(self, run_e: str) -> str:
        return f"{self.key_prefix}:run:{{r:{run_e}}}"

    def _dump(self, value: Any, what: str) -> tuple[str, bytes]:
        try:
            return self.serde.dumps_typed(value)
        except Exception as exc:
            raise CheckpointSerializationError(
                f"Cannot serialise {what} (a {type(value).__name__}): {exc}. Store plain data "
                "(str, numbers, lists, dicts, messages, pydantic models, dataclasses) in the "
                "graph state, or pass serde= a serializer that handles this type. Nothing was written."
            ) from exc

    def _check_size(self, value: Any, what: str, *, stored: int) -> None:
        """Refuse a message over the limit; ``stored`` is the serialised size of ``value``.

        The serialised value holds every message's text, so when it fits under the
        limit no message can exceed it and the walk over the messages is skipped
        (it cost a fifth of a put on a 50-message state).
        """
        if self.max_message_bytes is None or stored <= self.max_message_bytes:
            return
        if found := too_big(value, limit=self.max_message_bytes):
            message, size = found
            raise CheckpointTooLargeError(
                f"A {type(message).__name__} (id {message.id!r}) in {what} is {size:,} bytes, over "
                f"this saver's limit of {self.max_message_bytes:,} (max_message_bytes). Split or "
                "summarise it before it enters the state, or raise the limit: "
                "RedisSaver(..., limits=Limits(message_bytes=...)) (None disables it). Nothing was written."
            )

    def _registry_cmd(self, thread_id: Any) -> tuple[Any, ...]:
        score = time.time() + self.ttl_seconds if self.ttl_seconds else "+inf"
        return ("ZADD", self._registry, score, str(thread_id))

    def _registry_due(self, thread_id: Any) -> bool:
        """Whether this process has not yet registered the thread (or its TTL moved on)."""
        seen = self._registered.get(str(thread_id))
        if seen is None:
            return True
        return bool(self.ttl_seconds) and seen < time.time() + 0.9 * self.ttl_seconds

    def _registered_now(self, command: tuple[Any, ...]) -> None:
        if len(self._registered) > 100_000:
            self._registered.clear()
        self._registered[command[3]] = float(command[2])

    def _read_ttl(self) -> int:
        return self.ttl_seconds if self.refresh_on_read else 0

    def get_next_version(self, current: str | int | None, channel: None = None) -> str:
        """Monotonic string versions with a random tail, so forks never share a blob."""
        if current is None:
            number = 0
        elif isinstance(current, int):
            number = current
        else:
            number = int(str(current).split(".")[0])
        return f"{number + 1:032}.{random.random():016}"

    def _decode(self, thread_id: Any, reply: Sequence[Any]) -> list[CheckpointTuple]:
        found, recs, fields, values, writes = reply
        blobs = dict(zip(fields, values))
        loads = self.serde.loads_typed
        out = []
        for raw_member, rec, raw_writes in zip(found, recs, writes):
            ns, cid = split_member(raw_member)
            ns_e = raw_member.split(b"|", 1)[0].decode()
            ctype, cbytes, mtype, mbytes, parent = ormsgpack.unpackb(rec)
            checkpoint = loads((ctype, cbytes))
            channel_values = {}
            for channel, version in checkpoint["channel_versions"].items():
                raw = blobs.get(_blob_field(ns_e, channel, version).encode())
                if raw is not None:
                    cut = raw.index(b"\0")
                    channel_values[channel] = loads((raw[:cut].decode(), raw[cut + 1 :]))
            checkpoint["channel_values"] = channel_values
            pending = sorted(
                (ormsgpack.unpackb(w) for w in raw_writes if w is not None),
                key=lambda w: writes_sort_key(w[4], w[0], w[5]),
            )
            conf = {"thread_id": thread_id, "checkpoint_ns": ns}
            out.append(
                CheckpointTuple(
                    config={"configurable": {**conf, "checkpoint_id": cid}},
                    checkpoint=checkpoint,
                    metadata=loads((mtype, mbytes)),
                    parent_config={"configurable": {**conf, "checkpoint_id": parent}}
                    if parent
                    else None,
                    pending_writes=[(w[0], w[1], loads((w[2], w[3]))) for w in pending],
                )
            )
        return out

    # -- operations -----------------------------------------------------------------

    def _op_put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> Op:
        thread_id, ns, parent = self._conf(config)
        record = dict(checkpoint)
        values: dict[str, Any] = record.pop("channel_values")  # type: ignore[assignment]
        ns_e = esc(ns)
        args: list[Any] = []
        for channel, version in new_versions.items():
            if channel in values:
                ctype, data = self._dump(values[channel], f"the value of channel {channel!r}")
                self._check_size(values[channel], f"channel {channel!r}", stored=len(data))
                args += (_blob_field(ns_e, channel, version), ctype.encode() + b"\0" + data)
        refs = "\n".join(_blob_field(ns_e, c, v) for c, v in record["channel_versions"].items())
        meta = get_serializable_checkpoint_metadata(config, metadata)
        ctype, cbytes = self._dump(record, "the checkpoint")
        mtype, mbytes = self._dump(meta, "the checkpoint metadata")
        name = member(ns, checkpoint["id"])
        run_id = meta.get("run_id")
        run_member = f"{esc(str(run_id))}|{name}" if run_id else ""
        registry = self._registry_cmd(thread_id)
        due = self._registry_due(thread_id)
        commands: list[Any] = [registry] if due else []  # registry first: a crash leaves no ghost
        if run_id:
            run_key = self._run_key(esc(str(run_id)))
            commands.append(("SADD", run_key, str(thread_id)))
            if self.ttl_seconds:
                commands.append(("EXPIRE", run_key, self.ttl_seconds))
        rec = ormsgpack.packb([ctype, cbytes, mtype, mbytes, parent])
        head = [self.ttl_seconds, name, rec, refs, run_member]
        commands.append(Call(_lua.PUT, self._keys(thread_id), head + args))
        fresh = (yield Batch(commands))[-1]
        if fresh and not due:  # deleted by another process since we registered it
            yield Batch([registry])
        self._registered_now(registry)
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    def _op_put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> Op:
        thread_id, ns, cid = self._conf(config, need_id=True)
        prefix = f"{member(ns, cid)}|{esc(str(task_id))}|"  # type: ignore[arg-type]
        args: list[Any] = [self.ttl_seconds]
        for idx, (channel, value) in enumerate(writes):
            widx = WRITES_IDX_MAP.get(channel, idx)
            wtype, data = self._dump(value, f"the write to channel {channel!r}")
            self._check_size(value, f"the write to channel {channel!r}", stored=len(data))
            packed = ormsgpack.packb([task_id, channel, wtype, data, task_path, widx])
            args += (f"{prefix}{widx}", packed, "1" if widx < 0 else "0")
        if len(args) == 1:
            return
        commands: list[Any] = [Call(_lua.PUT_WRITES, self._keys(thread_id), args)]
        if self.ttl_seconds and self._registry_due(thread_id):
            commands.append(self._registry_cmd(thread_id))
        yield Batch(commands)
        if len(commands) > 1:
            self._registered_now(commands[1])

    def _op_get_tuple(self, config: RunnableConfig) -> Op:
        thread_id, ns, cid = self._conf(config)
        if cid:
            args = [self._read_ttl(), "ids", "0", member(ns, cid)]
        else:
            args = [self._read_ttl(), "latest", "0", esc(ns) + "|"]
        commands: list[Any] = [Call(_lua.LOAD, self._keys(thread_id), args)]
        if self._read_ttl() and self._registry_due(thread_id):
            commands.append(self._registry_cmd(thread_id))
        replies = yield Batch(commands)
        if len(commands) > 1:
            self._registered_now(commands[1])
        if not replies[0][0]:
            return None
        return self._decode(thread_id, replies[0])[0]

    def _op_list(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Op:
        if limit is not None and limit <= 0:
            return
        before_id = get_checkpoint_id(before) if before else None
        if config is None:
            threads: Iterable[Any] = yield from self._op_thread_ids()
            ns, cid = None, None
        else:
            thread_id, _, cid = self._conf(config)
            threads = [thread_id]
            ns = config["configurable"].get("checkpoint_ns")
        remaining = limit
        for thread_id in threads:
            emitted = yield from self._list_thread(thread_id, ns, cid, before_id, filter, remaining)
            if remaining is not None:
                remaining -= emitted
                if remaining <= 0:
                    return

    def _op_thread_ids(self) -> Op:
        """Ids of the threads that have checkpoints (expired ones dropped from the registry)."""
        now = time.time()
        reply = yield Batch(
            [
                ("ZREMRANGEBYSCORE", self._registry, "-inf", f"({now - 3600}"),
                ("ZRANGE", self._registry, now, "+inf", "BYSCORE"),
            ]
        )
        return [t.decode() for t in reply[1]]

    def _matches(self, rec: bytes, filter: dict[str, Any] | None) -> bool:
        if not filter:
            return True
        _, _, mtype, mbytes, _ = ormsgpack.unpackb(rec)
        meta = self.serde.loads_typed((mtype, mbytes))
        return all(meta.get(k) == v for k, v in filter.items())

    def _load_pages(self, thread_id: Any, keys: ThreadKeys, names: Sequence[bytes]) -> Op:
        emitted = 0
        for start in range(0, len(names), _PAGE):
            args = [self._read_ttl(), "ids", "0", *names[start : start + _PAGE]]
            reply = (yield Batch([Call(_lua.LOAD, keys, args)]))[0]
            if reply[0]:
                tuples = self._decode(thread_id, reply)
                emitted += len(tuples)
                yield Emit(tuples)
        return emitted

    def _list_thread(
        self,
        thread_id: Any,
        ns: str | None,
        cid: str | None,
        before_id: str | None,
        filter: dict[str, Any] | None,
        limit: int | None,
    ) -> Op:
        keys, ttl = self._keys(thread_id), self._read_ttl()
        if ns is None or cid:  # every namespace (newest first across them), or one id
            if ns is not None:
                scan = [ttl, "ids", "1", member(ns, cid)]  # type: ignore[arg-type]
            else:
                scan = [ttl, "range", "1", "+", "-", -1]
            found, recs = (yield Batch([Call(_lua.LOAD, keys, scan)]))[0]
            picked = []
            for raw_member, rec in zip(found, recs):
                mcid = split_member(raw_member)[1]
                if (cid and mcid != cid) or (before_id and mcid >= before_id):
                    continue
                if self._matches(rec, filter):
                    picked.append((mcid, raw_member))
            picked.sort(key=lambda item: item[0], reverse=True)
            names = [m for _, m in (picked if limit is None else picked[:limit])]
            return (yield from self._load_pages(thread_id, keys, names))
        # One namespace: walk its index newest first, a page at a time.
        p = (esc(ns) + "|").encode()
        high, low = b"(" + p + (esc(before_id).encode() if before_id else b"\xff"), b"[" + p
        emitted = 0
        while limit is None or emitted < limit:
            want = _PAGE if limit is None else min(_PAGE, limit - emitted)
            if not filter:
                reply = (
                    yield Batch([Call(_lua.LOAD, keys, [ttl, "range", "0", high, low, want])])
                )[0]
                if not reply[0]:
                    break
                tuples = self._decode(thread_id, reply)
                emitted += len(tuples)
                yield Emit(tuples)
                scanned = reply[0]
            else:
                want = _SCAN
                scan = [ttl, "range", "1", high, low, want]
                scanned, recs = (yield Batch([Call(_lua.LOAD, keys, scan)]))[0]
                names = [m for m, rec in zip(scanned, recs) if self._matches(rec, filter)]
                if limit is not None:
                    names = names[: limit - emitted]
                emitted += yield from self._load_pages(thread_id, keys, names)
            if len(scanned) < want:
                break
            high = b"(" + scanned[-1]
        return emitted
