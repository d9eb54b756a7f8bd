"""A throw-away 3-master Redis Cluster on loopback, from the embedded binary.

No ``redis-cli`` is needed: the nodes are joined with ``CLUSTER MEET`` and
given slots with ``CLUSTER ADDSLOTSRANGE`` through redis-py. Ports come from
the 17000–17999 range reserved for reliability tests; both the client port and
the cluster-bus port (``--cluster-port``) stay inside it.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from langmem_ext.server import find_binaries

__all__ = ["LocalCluster", "PORT_RANGE"]

PORT_RANGE = range(17000, 18000)
_SLOTS = 16384


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_ports(count: int, rng: random.Random) -> list[int]:
    """``count`` client ports P with P and P+1 (its bus port) free, all in range."""
    for _ in range(200):
        base = rng.randrange(PORT_RANGE.start, PORT_RANGE.stop - 2 * count, 2)
        ports = [base + 2 * i for i in range(count)]
        if all(_port_free(p) and _port_free(p + 1) for p in ports):
            return ports
    raise RuntimeError("No free ports in 17000-17999 for a test cluster.")


class LocalCluster:
    """Start ``masters`` cluster nodes and assign them all 16384 slots.

    Args:
        masters: number of master nodes (no replicas).
        modules: which of ``"json"`` and ``"search"`` to load. RediSearch loads in
            cluster mode, but without its coordinator (Redis Cloud/Software only)
            each FT.SEARCH sees only the shard it runs on.
        timeout: seconds to wait for ``cluster_state:ok``.
    """

    def __init__(
        self, *, masters: int = 3, modules: tuple[str, ...] = ("json",), timeout: float = 20.0
    ) -> None:
        self.masters = masters
        self.modules = modules
        self.timeout = timeout
        self.ports: list[int] = []
        self._procs: list[subprocess.Popen[bytes]] = []
        self._dir: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self) -> LocalCluster:
        binaries = find_binaries()
        self._dir = Path(tempfile.mkdtemp(prefix="langmem-ext-cluster-"))
        self.ports = _pick_ports(self.masters, random.Random())
        try:
            for port in self.ports:
                self._spawn(binaries, port)
            self._join()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, binaries: object, port: int) -> None:
        assert self._dir is not None
        node_dir = self._dir / str(port)
        node_dir.mkdir()
        args = [
            str(binaries.server),  # type: ignore[attr-defined]
            "--port", str(port),
            "--cluster-port", str(port + 1),
            "--bind", "127.0.0.1",
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(node_dir / "nodes.conf"),
            "--cluster-node-timeout", "2000",
            "--dir", str(node_dir),
            "--save", "",
            "--appendonly", "no",
        ]  # fmt: skip
        files = {"json": "rejson", "search": "redisearch"}
        for module in binaries.modules:  # type: ignore[attr-defined]
            if any(module.name.startswith(files[m]) for m in self.modules):
                args += ["--loadmodule", str(module)]
        log = open(node_dir / "log", "wb")  # noqa: SIM115 - closed with the process
        self._procs.append(
            subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        )
        log.close()
        deadline = time.monotonic() + self.timeout
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self._procs[-1].poll() is not None or time.monotonic() > deadline:
                        tail = (node_dir / "log").read_text(errors="replace")[-800:]
                        raise RuntimeError(f"cluster node {port} did not start:\n{tail}") from None
                    time.sleep(0.02)
        finally:
            client.close()

    def _join(self) -> None:
        clients = [redis.Redis(host="127.0.0.1", port=p) for p in self.ports]
        try:
            per = _SLOTS // self.masters
            for i, client in enumerate(clients):
                first = i * per
                last = _SLOTS - 1 if i == self.masters - 1 else (i + 1) * per - 1
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            for port in self.ports[1:]:
                clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port, port + 1)
            deadline = time.monotonic() + self.timeout
            while True:
                states = [c.execute_command("CLUSTER", "INFO") for c in clients]
                texts = [s.decode() if isinstance(s, bytes) else str(s) for s in states]
                if all("cluster_state:ok" in t for t in texts) and all(
                    f"cluster_known_nodes:{self.masters}" in t for t in texts
                ):
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster did not converge: {texts[0]}")
                time.sleep(0.05)
        finally:
            for client in clients:
                client.close()

    def client(self, **kwargs: object) -> redis.RedisCluster:
        return redis.RedisCluster(host="127.0.0.1", port=self.ports[0], **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        if self._dir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._dir)
            self._dir = None

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
