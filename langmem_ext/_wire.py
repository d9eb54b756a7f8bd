"""Raw commands on a pooled redis-py connection, for the checkpointer's and the store's hot paths.

redis-py's ``execute_command`` and pipelines wrap every command in retry, event and
metrics layers and run response callbacks (about 10-15 us a command here). The
checkpointer and the store need none of that on their hot paths: they send commands
whose raw replies they parse themselves. :func:`send_raw` / :func:`asend_raw` pack the
commands (with hiredis, in C, when it is installed), send them in chunks on one pooled
connection so Redis starts on the first chunk while the rest are packed, and read every
reply, errors included, as values. Connection errors are retried as the connection's own
``retry`` policy says (as ``execute_command`` does). A connection that fails in any other
way (a command that cannot be packed after earlier chunks went out, a cancelled task)
may still hold unread replies, so it is closed rather than handed back to the pool.

Only plain pooled clients qualify (``lean_pool``); for cluster or single-connection
clients both functions return None and the caller uses redis-py's own paths.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import redis
import redis.asyncio
from redis.exceptions import ResponseError

try:  # hiredis packs a whole command in C; redis-py adds a Python pass over every argument
    from hiredis import pack_command as _pack
except ImportError:  # pragma: no cover - hiredis is a dependency, but stay correct without it
    _pack = None

__all__ = ["CHUNK", "lean_pool", "send_raw", "asend_raw"]

#: Commands per chunk sent at once.
CHUNK = 128


def lean_pool(client: Any, kind: type) -> Any:
    """``client``'s connection pool if it is a plain pooled client of ``kind``, else None."""
    pool = getattr(client, "connection_pool", None)
    if isinstance(pool, kind) and getattr(client, "connection", None) is None:
        return pool
    return None


def _chunks(conn: Any, cmds: Sequence[tuple[Any, ...]]) -> Iterator[list[bytes]]:
    """Packed chunks, lazily: each is packed only after the previous one was sent."""
    for i in range(0, len(cmds), CHUNK):
        chunk = cmds[i : i + CHUNK]
        yield [b"".join(map(_pack, chunk))] if _pack is not None else conn.pack_commands(chunk)


def send_raw(client: Any, cmds: Sequence[tuple[Any, ...]]) -> list[Any] | None:
    """The raw replies to ``cmds`` (errors as ``ResponseError`` values), or None if
    ``client`` is not a plain pooled sync client."""
    pool = lean_pool(client, redis.ConnectionPool)
    if pool is None:
        return None
    conn = pool.get_connection()

    def run() -> list[Any]:
        for i, packed in enumerate(_chunks(conn, cmds)):
            conn.send_packed_command(packed, check_health=i == 0)
        out: list[Any] = []
        for _ in cmds:
            try:
                out.append(conn.read_response())
            except ResponseError as exc:
                out.append(exc)
        return out

    try:
        return conn.retry.call_with_retry(run, lambda _error: conn.disconnect())
    except BaseException:
        conn.disconnect()  # replies may be left unread: never reuse this connection
        raise
    finally:
        pool.release(conn)


async def asend_raw(client: Any, cmds: Sequence[tuple[Any, ...]]) -> list[Any] | None:
    """The asyncio twin of :func:`send_raw`."""
    pool = lean_pool(client, redis.asyncio.ConnectionPool)
    if pool is None:
        return None
    conn = await pool.get_connection()

    async def run() -> list[Any]:
        for i, packed in enumerate(_chunks(conn, cmds)):
            await conn.send_packed_command(packed, check_health=i == 0)
        out: list[Any] = []
        for _ in cmds:
            try:
                out.append(await conn.read_response())
            except ResponseError as exc:
                out.append(exc)
        return out

    async def failed(_error: Exception) -> None:
        await conn.disconnect()

    try:
        return await conn.retry.call_with_retry(run, failed)
    except BaseException:
        await conn.disconnect(nowait=True)  # replies may be left unread: never reuse it
        raise
    finally:
        await pool.release(conn)
