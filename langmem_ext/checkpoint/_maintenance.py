"""Thread maintenance (delete, copy, prune, purge, setup) as I/O-free operations.

Mixed into :class:`~langmem_ext.checkpoint.base.BaseRedisSaver`; relies on its
``_keys``, ``_run_key``, ``_registry_cmd``, ``serde`` and ``ttl_seconds``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ormsgpack

from langmem_ext.checkpoint import _lua
from langmem_ext.checkpoint._io import Batch, Call, Commit, Op, Watch
from langmem_ext.checkpoint._keys import esc
from langmem_ext.checkpoint._scrub import DROP, fingerprints, scrub
from langmem_ext.checkpoint._types import CheckpointConfigError
from langmem_ext.connection import IncompatibleServerError

__all__ = ["MaintenanceMixin", "SCHEMA_VERSION", "MIGRATIONS"]


def _initial_layout(saver: Any) -> Op:
    """Version 1: the layout of ``_keys.py``; nothing to convert."""
    return
    yield  # pragma: no cover


MIGRATIONS: list[Callable[[Any], Op]] = [_initial_layout]
"""Migration ``i`` upgrades stored data from schema version ``i`` to ``i + 1``."""
SCHEMA_VERSION = len(MIGRATIONS)
_PURGE_ATTEMPTS = 20  # optimistic transactions tried before purge_messages gives up


def _pairs(flat: Sequence[Any]) -> list[tuple[Any, Any]]:
    return list(zip(flat[::2], flat[1::2]))


def _split_blob(raw: bytes) -> tuple[str, bytes]:
    cut = raw.index(b"\0")
    return raw[:cut].decode(), raw[cut + 1 :]


def _chunks(items: Sequence[Any], size: int = 1000) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _thread_ids(thread_ids: Sequence[str], what: str) -> list[str]:
    if isinstance(thread_ids, (str, bytes)):
        raise CheckpointConfigError(
            f"{what} takes a list of thread ids, got the single string {thread_ids!r}: "
            f"wrap it in a list."
        )
    return list(thread_ids)


class MaintenanceMixin:
    """Delete, copy, prune and purge operations shared by the sync and async savers."""

    serde: Any
    ttl_seconds: int
    key_prefix: str
    _registry: str
    _schema_key: str

    def _op_setup(self) -> Op:
        raw = (yield Batch([("GET", self._schema_key)]))[0]
        stored = int(raw or 0)
        if stored > SCHEMA_VERSION:
            raise IncompatibleServerError(
                f"The checkpoints under {self.key_prefix!r} were written by a newer langmem-ext "
                f"(schema {stored}, this one knows {SCHEMA_VERSION}). Upgrade langmem-ext, or "
                "use another key_prefix."
            )
        for version in range(stored, SCHEMA_VERSION):
            yield from MIGRATIONS[version](self)
            yield Batch([("SET", self._schema_key, version + 1)])

    def _op_delete_thread(self, thread_id: Any) -> Op:
        self._registered.pop(str(thread_id), None)  # type: ignore[attr-defined]
        runs = (yield Batch([Call(_lua.DROP, self._keys(thread_id), [])]))[0]  # type: ignore[attr-defined]
        run_keys = {self._run_key(r.split(b"|", 1)[0].decode()) for r in runs}  # type: ignore[attr-defined]
        yield Batch(
            [("ZREM", self._registry, str(thread_id))]
            + [("SREM", key, str(thread_id)) for key in sorted(run_keys)]
        )

    def _op_delete_for_runs(self, run_ids: Sequence[str]) -> Op:
        runs = _thread_ids(run_ids, "delete_for_runs")
        if not runs:
            return
        run_keys = [self._run_key(esc(str(r))) for r in runs]  # type: ignore[attr-defined]
        members = yield Batch([("SMEMBERS", key) for key in run_keys])
        by_thread: dict[str, list[str]] = {}
        for run, threads in zip(runs, members):
            for t in threads:
                by_thread.setdefault(t.decode(), []).append(esc(str(run)) + "|")
        calls: list[Any] = [
            Call(_lua.REMOVE, self._keys(t), [0, "runs", *prefixes])  # type: ignore[attr-defined]
            for t, prefixes in by_thread.items()
        ]
        if calls:
            yield Batch(calls)
        yield Batch([("DEL", key) for key in run_keys])

    def _op_prune(self, thread_ids: Sequence[str], strategy: str) -> Op:
        threads = _thread_ids(thread_ids, "prune")
        if strategy not in ("keep_latest", "delete"):
            raise CheckpointConfigError(
                f"Unknown prune strategy {strategy!r}: use 'keep_latest' (the newest checkpoint "
                "of each namespace survives) or 'delete' (everything goes)."
            )
        if strategy == "delete":
            for t in threads:
                yield from self._op_delete_thread(t)
        elif threads:
            yield Batch([Call(_lua.REMOVE, self._keys(t), [0, "keep_latest"]) for t in threads])  # type: ignore[attr-defined]

    def _op_copy_thread(self, source_thread_id: Any, target_thread_id: Any) -> Op:
        if str(source_thread_id) == str(target_thread_id):
            raise CheckpointConfigError("copy_thread needs two different thread ids.")
        src, dst = self._keys(source_thread_id), self._keys(target_thread_id)  # type: ignore[attr-defined]
        cp, refs, blobs, writes, idx, widx, ridx = (yield Batch([Call(_lua.SNAPSHOT, src, [])]))[0]
        if not idx:
            return
        prep: list[Any] = [self._registry_cmd(target_thread_id)]  # type: ignore[attr-defined]
        for run_e in sorted({r.split(b"|", 1)[0].decode() for r in ridx}):
            prep.append(("SADD", self._run_key(run_e), str(target_thread_id)))  # type: ignore[attr-defined]
        yield Batch(prep)
        commands: list[Any] = []
        for key, flat in ((dst.cp, cp), (dst.refs, refs), (dst.blobs, blobs), (dst.writes, writes)):
            commands += [("HSET", key, *part) for part in _chunks(flat, 2000)]
        for key, names in ((dst.idx, idx), (dst.widx, widx), (dst.ridx, ridx)):
            for part in _chunks(names):
                commands.append(("ZADD", key, *[x for name in part for x in (0, name)]))
        if self.ttl_seconds:
            commands += [("EXPIRE", key, self.ttl_seconds) for key in dst]
        yield Batch(commands, transaction=True)

    def _op_purge(self, thread_id: Any, message_ids: Sequence[str]) -> Op:
        if isinstance(message_ids, (str, bytes)) or not all(
            isinstance(i, str) for i in message_ids
        ):
            raise CheckpointConfigError(
                f"message_ids must be a list of message id strings, got {message_ids!r}."
            )
        ids = frozenset(message_ids)
        if not ids:
            return 0
        keys = self._keys(thread_id)  # type: ignore[attr-defined]
        loads, dumps = self.serde.loads_typed, self.serde.dumps_typed
        for _attempt in range(_PURGE_ATTEMPTS):
            cp, blobs, writes = yield Watch(
                [keys.cp, keys.blobs, keys.writes],
                [("HGETALL", keys.cp), ("HGETALL", keys.blobs), ("HGETALL", keys.writes)],
            )
            records = {f: ormsgpack.unpackb(raw) for f, raw in cp.items()}
            checkpoints = {
                f: (loads((r[0], r[1])), loads((r[2], r[3]))) for f, r in records.items()
            }
            values = {f: loads(_split_blob(raw)) for f, raw in blobs.items()}
            pending = {f: ormsgpack.unpackb(raw) for f, raw in writes.items()}
            written = {f: loads((w[2], w[3])) for f, w in pending.items()}
            sent: set[Any] = set()  # id-less copies (input as sent) are matched by role+content
            for value in [*checkpoints.values(), *values.values(), *written.values()]:
                sent |= fingerprints(value, ids)
            found = frozenset(sent)
            commands: list[Any] = []
            removed = 0
            for field, (checkpoint, metadata) in checkpoints.items():
                new_cp, n1 = scrub(checkpoint, ids, found)
                new_meta, n2 = scrub(metadata, ids, found)
                if n1 + n2:
                    removed += n1 + n2
                    r = records[field]
                    ctype, cbytes = dumps(new_cp)
                    mtype, mbytes = dumps(new_meta)
                    packed = ormsgpack.packb([ctype, cbytes, mtype, mbytes, r[4]])
                    commands.append(("HSET", keys.cp, field, packed))
            for field, value in values.items():
                new, n = scrub(value, ids, found)
                if not n:
                    continue
                removed += n
                if new is DROP:
                    commands.append(("HDEL", keys.blobs, field))
                else:
                    btype, data = dumps(new)
                    commands.append(("HSET", keys.blobs, field, btype.encode() + b"\0" + data))
            for field, value in written.items():
                new, n = scrub(value, ids, found)
                if not n:
                    continue
                removed += n
                if new is DROP:
                    commands += [("HDEL", keys.writes, field), ("ZREM", keys.widx, field)]
                else:
                    task_id, channel, _, _, task_path, widx = pending[field]
                    wtype, data = dumps(new)
                    packed = ormsgpack.packb([task_id, channel, wtype, data, task_path, widx])
                    commands.append(("HSET", keys.writes, field, packed))
            if (yield Commit(commands)) is not None:
                return removed
        raise RuntimeError(
            f"purge_messages gave up after {_PURGE_ATTEMPTS} attempts: thread {thread_id!r} kept "
            "changing while it was being rewritten. Nothing was changed; retry when the thread "
            "is idle (e.g. between turns)."
        )
