"""Forgetting: strength that decays with disuse, reinforcement on recall, erasure.

Strength follows an exponential forgetting curve: ``s(t) = s0 * 0.5 ** (age / half_life)``
where ``age`` is the time since the memory was last accessed (or written), and
recall reinforces it (``s + boost * (1 - s)``). A forget pass archives (or
deletes) memories whose current strength fell under a threshold; pinned ones
are exempt.

Access statistics (``last_accessed_at``, ``access_count``, ``strength``) are
kept in a small sidecar item per memory (namespace ``("memories", "{user_id}",
"access")``, same key, never embedded), so reinforcing a memory never rewrites
(and re-embeds) it; :func:`overlay_stats` merges them back.

:func:`forget_user` erases everything under a user's namespace prefix, with the
store's prefix deletion when it has one (our ``RedisStore``).

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> now = datetime(2025, 1, 31, tzinfo=timezone.utc)
    >>> round(current_strength(1.0, now - timedelta(days=30), now, half_life=timedelta(days=30)), 3)
    0.5
    >>> reinforce(0.5)
    0.75
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from langgraph.store.base import BaseStore, ListNamespacesOp, MatchCondition, PutOp, SearchOp

from langmem_ext import _background
from langmem_ext.long_term._io import Batch, Call, Gen, run_async, run_sync
from langmem_ext.long_term.operations import Changes, record_change
from langmem_ext.long_term.schemas import MemoryBase, from_value, utcnow
from langmem_ext.long_term.writer import changes_gen, check_namespace

__all__ = [
    "STATS_NAMESPACE",
    "ForgetReport",
    "StatsBuffer",
    "current_strength",
    "reinforce",
    "overlay_stats",
    "stats_ops",
    "forget_weak",
    "aforget_weak",
    "forget_user",
    "aforget_user",
]

logger = logging.getLogger(__name__)

STATS_NAMESPACE: tuple[str, ...] = ("memories", "{user_id}", "access")
"""Template of the sidecar namespace holding access statistics."""

_PAGE = 500


def current_strength(strength: float, last_access: datetime, now: datetime, *, half_life: timedelta) -> float:
    """Strength decayed exponentially since ``last_access``."""
    if half_life.total_seconds() <= 0:
        raise ValueError(f"half_life must be positive, got {half_life!r}.")
    age = max(0.0, (now - last_access).total_seconds())
    return strength * 0.5 ** (age / half_life.total_seconds())


def reinforce(strength: float, *, boost: float = 0.5) -> float:
    """Strength after a recall: closes ``boost`` of the gap to 1."""
    if not 0.0 <= boost <= 1.0:
        raise ValueError(f"boost must be within [0, 1], got {boost!r}.")
    return min(1.0, strength + boost * (1.0 - strength))


def overlay_stats(memory: MemoryBase, stats: Mapping[str, Any] | None) -> MemoryBase:
    """The memory with its sidecar access statistics applied (unchanged when none)."""
    if not stats:
        return memory
    update = {k: stats[k] for k in ("last_accessed_at", "access_count", "strength") if k in stats}
    return type(memory).model_validate({**memory.model_dump(), **update})


def last_access(memory: MemoryBase) -> datetime:
    """When the memory was last used: recalled, else written."""
    return memory.last_accessed_at or memory.updated_at


def stats_ops(
    stats_namespace: tuple[str, ...], memories: Sequence[MemoryBase], now: datetime, *, half_life: timedelta,
    boost: float = 0.5, hits: Sequence[int] | None = None,
) -> list[PutOp]:
    """Sidecar writes that record recalls of each memory (decay, then reinforce once per hit)."""
    ops = []
    for i, m in enumerate(memories):
        n = hits[i] if hits is not None else 1
        strength = current_strength(m.strength, last_access(m), now, half_life=half_life)
        for _ in range(n):
            strength = reinforce(strength, boost=boost)
        value = {"last_accessed_at": now.isoformat(), "access_count": m.access_count + n, "strength": strength}
        ops.append(PutOp(stats_namespace, m.id, value, index=False))
    return ops


class StatsBuffer:
    """Coalesces recall statistics and writes them at most every ``interval`` seconds.

    Each memory recalled k times within an interval costs one write (count + k,
    reinforced k times) instead of k; a daemon thread does the writing (through
    the store's sync API), so recall never waits for it. :meth:`flush` writes now,
    and a store of ours writes what is pending for it before it closes
    (:mod:`langmem_ext._background`). Statistics not yet written are lost if the
    process dies: they are usage hints, not data.
    """

    name = "recall statistics"
    drain_timeout = 0.0
    """A closing store writes the pending statistics in one batch; nothing to wait for besides."""

    def __init__(self, *, interval: float, half_life: timedelta) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, got {interval!r}.")
        self.interval, self.half_life = interval, half_life
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, tuple[str, ...], str], list[Any]] = {}
        self._timer: threading.Timer | None = None
        _background.register(self)

    def add(self, store: BaseStore, stats_namespace: tuple[str, ...], memories: Sequence[MemoryBase], now: datetime) -> None:
        """Record one recall of each memory."""
        with self._lock:
            for m in memories:
                entry = self._pending.get((id(store), stats_namespace, m.id))
                if entry is None:
                    self._pending[(id(store), stats_namespace, m.id)] = [store, m, 1, now]
                else:
                    entry[2] += 1
                    entry[3] = max(entry[3], now)
            if self._timer is None:
                self._timer = threading.Timer(self.interval, self._flush_quietly)
                self._timer.daemon = True
                self._timer.start()

    def _take(self, store: BaseStore | None = None) -> dict[int, tuple[BaseStore, list[PutOp]]]:
        """Remove the pending statistics (of ``store``; None: all) as one list of writes per store."""
        with self._lock:
            taken = {k: v for k, v in self._pending.items() if store is None or v[0] is store}
            for key in taken:
                del self._pending[key]
            if not self._pending and self._timer is not None:
                self._timer.cancel()
                self._timer = None
        out: dict[int, tuple[BaseStore, list[PutOp]]] = {}
        for (store_id, ns, _), (owner, memory, hits, when) in taken.items():
            ops = stats_ops(ns, [memory], when, half_life=self.half_life, hits=[hits])
            out.setdefault(store_id, (owner, []))[1].extend(ops)
        return out

    def flush(self) -> None:
        """Write every pending statistic now (one batch per store)."""
        for store, ops in self._take().values():
            store.batch(ops)

    def _flush_quietly(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self.flush()
        except Exception as exc:
            _log_failure(exc)

    # ---- draining before a store closes (langmem_ext._background) ---------------------------

    def start_draining(self, store: BaseStore) -> int:
        """How many statistics are pending for ``store`` (written by :meth:`finish_draining`)."""
        with self._lock:
            return sum(1 for entry in self._pending.values() if entry[0] is store)

    def finish_draining(self, store: BaseStore, deadline: float) -> int:
        """Write ``store``'s pending statistics now; returns how many were written."""
        written = 0
        for owner, ops in self._take(store).values():
            try:
                owner.batch(ops)
            except Exception as exc:
                _log_failure(exc)
                continue
            written += len(ops)
        return written

    async def afinish_draining(self, store: BaseStore, deadline: float) -> int:
        """Async :meth:`finish_draining`."""
        written = 0
        for owner, ops in self._take(store).values():
            try:
                await owner.abatch(ops)
            except Exception as exc:
                _log_failure(exc)
                continue
            written += len(ops)
        return written


def _log_failure(exc: Exception) -> None:
    """One WARNING line when the store cannot be reached (a usage hint is lost, nothing else);
    the traceback too for anything else (a bug)."""
    if _background.unreachable(exc):
        logger.warning("Recording recall statistics failed (the store cannot be reached: %s: %s); recall itself "
                       "succeeded.", type(exc).__name__, exc)
    else:
        logger.warning("Recording recall statistics failed; recall itself succeeded.", exc_info=exc)


@dataclass
class ForgetReport:
    """What a forget pass did."""

    scanned: int = 0
    archived: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept_pinned: int = 0


def _plan_forget(
    items: Sequence[Any], stats: Mapping[str, Mapping[str, Any]], *, now: datetime, half_life: timedelta,
    threshold: float, action: Literal["archive", "delete"], report: ForgetReport,
) -> Changes:
    changes = Changes()
    for item in items:
        try:
            memory = overlay_stats(from_value(item.value, key=item.key), stats.get(item.key))
        except ValueError:
            continue  # not a memory (e.g. a cursor)
        report.scanned += 1
        if memory.status == "archived":
            continue
        strength = current_strength(memory.strength, last_access(memory), now, half_life=half_life)
        if strength >= threshold:
            continue
        if memory.pinned:
            report.kept_pinned += 1
            continue
        ns = tuple(item.namespace)
        if action == "delete":
            changes.deletes.append((ns, item.key))
            report.deleted.append(item.key)
        else:
            reason = f"strength {strength:.3f} under {threshold}"

            def archive(m: MemoryBase, reason: str = reason) -> MemoryBase | None:
                if m.pinned or m.status == "archived":
                    return None
                return record_change(m.model_copy(update={"status": "archived"}), op="archive", old=None, reason=reason, now=now)

            changes.updates.append((ns, item.key, archive))
            report.archived.append(item.key)
    return changes


def _check(threshold: float, action: str) -> None:
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be within [0, 1], got {threshold!r}.")
    if action not in ("archive", "delete"):
        raise ValueError(f"action must be 'archive' or 'delete', got {action!r}.")


def _forget_weak(store: BaseStore, namespaces: Sequence[Sequence[str]], *, stats_namespace: Sequence[str] | None,
                 threshold: float, half_life: timedelta, action: Literal["archive", "delete"],
                 now: datetime | None) -> Gen[ForgetReport]:
    _check(threshold, action)
    now, report = now or utcnow(), ForgetReport()
    stats = {k: i.value for k, i in (yield from _read_all(stats_namespace)).items()} if stats_namespace else {}
    items: list[Any] = []
    for ns in namespaces:
        items += (yield from _read_all(ns)).values()
    yield from changes_gen(store, _plan_forget(items, stats, now=now, half_life=half_life, threshold=threshold,
                                               action=action, report=report))
    return report


def forget_weak(
    store: BaseStore,
    namespaces: Sequence[Sequence[str]],
    *,
    stats_namespace: Sequence[str] | None = None,
    threshold: float = 0.05,
    half_life: timedelta = timedelta(days=30),
    action: Literal["archive", "delete"] = "archive",
    now: datetime | None = None,
) -> ForgetReport:
    """Archive (or delete) memories whose decayed strength is under ``threshold``.

    Args:
        store: Any LangGraph store.
        namespaces: Concrete namespaces to sweep (e.g. each kind of one user).
        stats_namespace: The user's access-statistics sidecar namespace, if used.
        threshold: Strength under which a memory is forgotten.
        half_life: Time for an unused memory's strength to halve.
        action: ``"archive"`` (kept, never recalled) or ``"delete"``.
        now: Evaluation time (default now, UTC).
    """
    return run_sync(store, _forget_weak(store, namespaces, stats_namespace=stats_namespace, threshold=threshold,
                                        half_life=half_life, action=action, now=now))


async def aforget_weak(
    store: BaseStore,
    namespaces: Sequence[Sequence[str]],
    *,
    stats_namespace: Sequence[str] | None = None,
    threshold: float = 0.05,
    half_life: timedelta = timedelta(days=30),
    action: Literal["archive", "delete"] = "archive",
    now: datetime | None = None,
) -> ForgetReport:
    """Async :func:`forget_weak`."""
    return await run_async(store, _forget_weak(store, namespaces, stats_namespace=stats_namespace, threshold=threshold,
                                               half_life=half_life, action=action, now=now))


def _exact(namespace: Sequence[str], items: Sequence[Any]) -> list[Any]:
    return [i for i in items if tuple(i.namespace) == tuple(namespace)]


def _read_all(namespace: Sequence[str]) -> Gen[dict[str, Any]]:
    ns, out, offset = check_namespace(namespace), {}, 0
    while True:
        (page,) = yield Batch([SearchOp(ns, limit=_PAGE, offset=offset)])
        out.update({i.key: i for i in _exact(ns, page)})
        if len(page) < _PAGE:
            return out
        offset += _PAGE


def _prefix(prefix: Sequence[str]) -> tuple[str, ...]:
    if isinstance(prefix, str):
        raise ValueError(
            f"forget_user takes the user's namespace prefix, e.g. ('memories', {prefix!r}), not the string {prefix!r}."
        )
    ns = check_namespace(prefix)
    if len(ns) < 2:
        raise ValueError(
            f"forget_user needs a user's prefix such as ('memories', user_id), got {ns!r}; "
            "a one-label prefix would erase every user."
        )
    return ns


def _under(prefix: tuple[str, ...], namespaces: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The listed namespaces that really start with ``prefix``, label for label.

    LangGraph's ``list_namespaces`` treats a ``"*"`` label as a wildcard, so a user
    whose id is ``"*"`` would otherwise list (and erase) every user.

    Example:
        >>> _under(("memories", "*"), [("memories", "*", "semantic"), ("memories", "bob", "semantic")])
        [('memories', '*', 'semantic')]
    """
    return [tuple(ns) for ns in namespaces if tuple(ns[: len(prefix)]) == prefix]


def forget_user_gen(store: BaseStore, namespace_prefix: Sequence[str]) -> Gen[int]:
    """:func:`forget_user` as an operation (:mod:`~langmem_ext.long_term._io`), for other operations to ``yield from``."""
    prefix = _prefix(namespace_prefix)
    if callable(getattr(store, "delete_namespace_prefix", None)):
        return int((yield Call("delete_namespace_prefix", (prefix,))))
    match = (MatchCondition("prefix", prefix),)
    (listed,) = yield Batch([ListNamespacesOp(match_conditions=match, max_depth=None, limit=100_000, offset=0)])
    count = 0
    for ns in _under(prefix, listed):
        while True:
            (page,) = yield Batch([SearchOp(ns, limit=_PAGE)])
            if not page:
                break
            yield Batch([PutOp(tuple(i.namespace), i.key, None) for i in page])
            count += len(page)
    return count


def forget_user(store: BaseStore, namespace_prefix: Sequence[str]) -> int:
    """Erase every item under a user's namespace prefix; returns how many were deleted.

    Uses the store's ``delete_namespace_prefix`` when it has one (our
    ``RedisStore``: one server-side sweep); otherwise lists the namespaces and
    deletes their items in batches. Labels match exactly: a user id of ``"*"``
    erases only that user, never the others (``"*"`` is not a wildcard here).
    """
    return run_sync(store, forget_user_gen(store, namespace_prefix))


async def aforget_user(store: BaseStore, namespace_prefix: Sequence[str]) -> int:
    """Async :func:`forget_user`."""
    return await run_async(store, forget_user_gen(store, namespace_prefix))
