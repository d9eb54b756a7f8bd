"""long_term._io: one operation, two drivers; and no sync/async copy left in long_term."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from langgraph.store.base import GetOp, PutOp
from langgraph.store.memory import InMemoryStore

import langmem_ext.long_term as long_term
from langmem_ext.long_term._io import Batch, Call, Lock, Twin, Unlock, _async_lock, _sync_lock, run_async, run_sync

ROOT = Path(long_term.__file__).resolve().parent

# The drivers themselves: the only async code allowed to differ from its sync twin.
DRIVERS = {("_io.py", "_aanswer"), ("_io.py", "_abatch"), ("executor.py", "aflush")}
MAX_TWIN_STATEMENTS = 3


def async_twins() -> list[tuple[str, str, int]]:
    """(file, name, statements) of every async function whose sync twin sits next to it."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)))]:
            defs = {n.name: n for n in getattr(scope, "body", []) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            for name, fn in defs.items():
                twin = name[1:] if name.startswith("a") else "_" + name[2:] if name.startswith("_a") else None
                if isinstance(fn, ast.AsyncFunctionDef) and twin in defs and isinstance(defs[twin], ast.FunctionDef):
                    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
                    found.append((str(path.relative_to(ROOT)), name, len(body)))
    return found


def test_no_sync_async_copy_is_left_in_long_term():
    twins = async_twins()
    assert len(twins) > 20  # the walk sees them (recall, writer, forgetting, dead letters, reflection ...)
    thick = [(f, n, k) for f, n, k in twins if k > MAX_TWIN_STATEMENTS and (f, n) not in DRIVERS]
    assert thick == [], "an async twin does more than drive the shared operation: share it through _io"


def test_the_twin_check_can_fail():
    source = "def get(s):\n    x = s.batch(1)\n    return x\n\nasync def aget(s):\n    a = 1\n    b = 2\n    x = await s.abatch(a + b)\n    return x\n"
    tree = ast.parse(source)
    body = [n for n in tree.body if isinstance(n, ast.AsyncFunctionDef)][0].body
    assert len(body) > MAX_TWIN_STATEMENTS


def _op(ns):
    yield Batch([PutOp(ns, "k", {"v": 1})])
    (item,) = yield Batch([GetOp(ns, "k")])
    return item.value


async def test_both_drivers_give_the_same_result():
    store = InMemoryStore()
    assert run_sync(store, _op(("a",))) == await run_async(store, _op(("b",))) == {"v": 1}


class _Versioned(InMemoryStore):
    """A store with a sync-only method: the async driver runs it in a thread."""

    def get_with_version(self, namespace, key):
        return self.get(namespace, key), 7


async def test_a_store_method_without_an_async_twin_runs_in_a_thread():
    def op():
        return (yield Call("get_with_version", (("n",), "k")))

    store = _Versioned()
    assert run_sync(store, op()) == await run_async(store, op()) == (None, 7)


def _locked(fail: bool):
    yield Lock()
    try:
        if fail:
            yield Call("no_such_method")  # the driver's AttributeError goes into the operation
        return "done"
    finally:
        yield Unlock()


async def test_a_failure_inside_the_lock_still_releases_it():
    store = InMemoryStore()
    with pytest.raises(AttributeError):
        run_sync(store, _locked(fail=True))
    assert not _sync_lock(store).locked() and run_sync(store, _locked(fail=False)) == "done"
    with pytest.raises(AttributeError):
        await run_async(store, _locked(fail=True))
    assert not _async_lock(store).locked() and await run_async(store, _locked(fail=False)) == "done"


async def test_a_cancelled_operation_releases_its_lock():
    store = InMemoryStore()
    started = asyncio.Event()

    async def slow():
        started.set()
        await asyncio.sleep(10)

    def op():
        yield Lock()
        try:
            yield Twin(lambda: None, slow)
        finally:
            yield Unlock()

    task = asyncio.create_task(run_async(store, op()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _async_lock(store).locked()
