"""Sans-I/O plumbing: operations are generators that yield requests and receive replies.

The saver's logic (in ``base.py``) never touches a socket. Each operation yields
:class:`Batch`, :class:`Watch` or :class:`Commit` requests (or :class:`Emit` results for
lazy listings); :func:`run_sync` and :func:`run_async` are the only code that differs
between :class:`~langmem_ext.checkpoint.RedisSaver` and
:class:`~langmem_ext.checkpoint.AsyncRedisSaver`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import NoScriptError, ResponseError, WatchError

from langmem_ext._wire import asend_raw, send_raw
from langmem_ext.checkpoint._lua import ALL, Script

__all__ = [
    "Call",
    "Batch",
    "Watch",
    "Commit",
    "Emit",
    "Op",
    "iterate_sync",
    "run_sync",
    "aiterate",
    "run_async",
]


@dataclass(frozen=True)
class Call:
    """One EVALSHA of ``script`` on ``keys`` (all in one slot) with ``args``."""

    script: Script
    keys: Sequence[str]
    args: Sequence[Any]

    def command(self) -> tuple[Any, ...]:
        return ("EVALSHA", self.script.sha, len(self.keys), *self.keys, *self.args)


@dataclass(frozen=True)
class Batch:
    """Commands (tuples or :class:`Call`) sent in one round trip; replies in order.

    ``transaction=True`` wraps them in MULTI/EXEC (all keys must share a slot).
    """

    commands: Sequence[tuple[Any, ...] | Call]
    transaction: bool = False


@dataclass(frozen=True)
class Watch:
    """WATCH ``keys`` then run ``reads``; the next request must be a :class:`Commit`."""

    keys: Sequence[str]
    reads: Sequence[tuple[Any, ...]]


@dataclass(frozen=True)
class Commit:
    """MULTI/EXEC ``commands`` after a :class:`Watch`; the reply is None if a watched key
    changed meanwhile (the operation then retries)."""

    commands: Sequence[tuple[Any, ...]] = field(default_factory=tuple)


@dataclass(frozen=True)
class Emit:
    """Results to hand to the caller of a lazy listing."""

    items: Sequence[Any]


Op = Generator[Any, Any, Any]


def _raw(command: tuple[Any, ...] | Call) -> tuple[Any, ...]:
    return command.command() if isinstance(command, Call) else command


def _call_sync(client: Any, command: tuple[Any, ...] | Call) -> Any:
    """One command; a script call skips redis-py's per-command layers (:mod:`langmem_ext._wire`)."""
    replies = send_raw(client, [command.command()]) if isinstance(command, Call) else None
    if replies is None:
        return client.execute_command(*_raw(command))
    if isinstance(replies[0], ResponseError):
        raise replies[0]
    return replies[0]


async def _call_async(client: Any, command: tuple[Any, ...] | Call) -> Any:
    replies = await asend_raw(client, [command.command()]) if isinstance(command, Call) else None
    if replies is None:
        return await client.execute_command(*_raw(command))
    if isinstance(replies[0], ResponseError):
        raise replies[0]
    return replies[0]


def _execute_sync(client: Any, batch: Batch) -> list[Any]:
    for attempt in (0, 1):
        try:
            if len(batch.commands) == 1 and not batch.transaction:
                return [_call_sync(client, batch.commands[0])]
            pipe = client.pipeline(transaction=batch.transaction)
            for command in batch.commands:
                pipe.execute_command(*_raw(command))
            return pipe.execute()
        except NoScriptError:
            if attempt:
                raise
            for script in ALL:  # a fresh or flushed server: load and replay (idempotent)
                client.script_load(script.source)
    raise AssertionError("unreachable")


async def _execute_async(client: Any, batch: Batch) -> list[Any]:
    for attempt in (0, 1):
        try:
            if len(batch.commands) == 1 and not batch.transaction:
                return [await _call_async(client, batch.commands[0])]
            pipe = client.pipeline(transaction=batch.transaction)
            for command in batch.commands:
                pipe.execute_command(*_raw(command))
            return await pipe.execute()
        except NoScriptError:
            if attempt:
                raise
            for script in ALL:
                await client.script_load(script.source)
    raise AssertionError("unreachable")


def _step(op: Op, reply: Any) -> tuple[bool, Any]:
    try:
        return False, op.send(reply)
    except StopIteration as stop:
        return True, stop.value


def iterate_sync(client: Any, op: Op) -> Iterator[Any]:
    """Drive ``op`` on a sync client, yielding what it emits; the return value is lost."""
    pipe = None
    reply: Any = None
    try:
        while True:
            done, request = _step(op, reply)
            if done:
                return
            reply = None
            if isinstance(request, Emit):
                yield from request.items
            elif isinstance(request, Batch):
                reply = _execute_sync(client, request)
            elif isinstance(request, Watch):
                pipe = client.pipeline(transaction=True)
                pipe.watch(*request.keys)
                reply = [pipe.execute_command(*c) for c in request.reads]
            elif isinstance(request, Commit):
                assert pipe is not None, "Commit without Watch"
                try:
                    if request.commands:
                        pipe.multi()
                        for command in request.commands:
                            pipe.execute_command(*command)
                        reply = pipe.execute()
                    else:
                        reply = []
                except WatchError:
                    reply = None
                finally:
                    pipe.reset()
                    pipe = None
            else:  # pragma: no cover - programming error
                raise TypeError(f"unknown request {request!r}")
    finally:
        if pipe is not None:
            pipe.reset()


def run_sync(client: Any, op: Op) -> Any:
    """Drive ``op`` to completion on a sync client and return its value."""
    result: list[Any] = []

    def capture() -> Op:
        result.append((yield from op))

    for _ in iterate_sync(client, capture()):
        pass
    return result[0] if result else None


async def aiterate(client: Any, op: Op) -> AsyncIterator[Any]:
    """The asyncio twin of :func:`iterate_sync`."""
    pipe = None
    reply: Any = None
    try:
        while True:
            done, request = _step(op, reply)
            if done:
                return
            reply = None
            if isinstance(request, Emit):
                for item in request.items:
                    yield item
            elif isinstance(request, Batch):
                reply = await _execute_async(client, request)
            elif isinstance(request, Watch):
                pipe = client.pipeline(transaction=True)
                await pipe.watch(*request.keys)
                reply = [await pipe.execute_command(*c) for c in request.reads]
            elif isinstance(request, Commit):
                assert pipe is not None, "Commit without Watch"
                try:
                    if request.commands:
                        pipe.multi()
                        for command in request.commands:
                            pipe.execute_command(*command)
                        reply = await pipe.execute()
                    else:
                        reply = []
                except WatchError:
                    reply = None
                finally:
                    await pipe.reset()
                    pipe = None
            else:  # pragma: no cover - programming error
                raise TypeError(f"unknown request {request!r}")
    finally:
        if pipe is not None:
            await pipe.reset()


async def run_async(client: Any, op: Op) -> Any:
    """Drive ``op`` to completion on an asyncio client and return its value."""
    result: list[Any] = []

    def capture() -> Op:
        result.append((yield from op))

    async for _ in aiterate(client, capture()):
        pass
    return result[0] if result else None
