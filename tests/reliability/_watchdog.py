"""Run a call with a hang detector: a liveness check, not a speed threshold.

The limit is set an order of magnitude above the timeouts under test, so it
only fires when something waits forever.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["HangError", "within", "awithin"]

T = TypeVar("T")


class HangError(AssertionError):
    """The call did not return at all within the hang limit."""


def within(limit: float, fn: Callable[[], T]) -> T | BaseException:
    """Call ``fn`` in a daemon thread; return its result or the exception it raised.

    Raises:
        HangError: ``fn`` neither returned nor raised within ``limit`` seconds.
    """
    box: list[object] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise HangError(f"call still running after {limit} s: it hangs")
    return box[0]  # type: ignore[return-value]


async def awithin(limit: float, coro: Awaitable[T]) -> T | BaseException:
    """The asyncio twin of :func:`within`."""
    try:
        return await asyncio.wait_for(coro, limit)
    except asyncio.TimeoutError as exc:
        raise HangError(f"coroutine still running after {limit} s: it hangs") from exc
    except BaseException as exc:  # noqa: BLE001
        return exc
