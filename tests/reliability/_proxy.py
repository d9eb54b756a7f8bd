"""A loopback TCP proxy that can break Redis connections on purpose.

Clients connect to ``proxy.url`` instead of the server. The proxy forwards
bytes both ways until a fault is armed:

- ``drop_reply_after(pattern)``: the next request chunk containing ``pattern``
  reaches Redis (so the command runs), but its reply is thrown away and the
  client's connection is closed. The client sees a connection error for a
  command that *did* happen: the case that makes non-idempotent retries
  duplicate data.
- ``cut_request(pattern)``: the next request chunk containing ``pattern`` is
  forwarded only in part, then both sides are closed. Redis discards the
  half command; the client sees a connection error for a command that did
  *not* happen.
- ``blackhole()``: new and existing connections stay open, but nothing is
  forwarded any more (a network partition, not a refusal).
- ``cut_all()``: close every open connection at once (a server restart as the
  client sees it).

Everything binds 127.0.0.1; every thread is a daemon and stops on ``close()``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

__all__ = ["FaultProxy"]


@dataclass
class _Fault:
    kind: str  # "drop_reply" | "cut_request"
    pattern: bytes
    remaining: int


@dataclass
class _Pair:
    client: socket.socket
    upstream: socket.socket
    drop_next_reply: bool = False
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


class FaultProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream_port`` with injectable faults.

    Args:
        upstream_port: the real Redis port on 127.0.0.1.
        port: where to listen; a free port when 0.

    Attributes:
        faults_fired: how many armed faults have fired so far.
    """

    def __init__(self, upstream_port: int, *, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(128)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._pairs: list[_Pair] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._blackhole = threading.Event()
        self.faults_fired = 0
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    # --- faults ---------------------------------------------------------
    def drop_reply_after(self, pattern: bytes, *, times: int = 1) -> None:
        """Let the next ``times`` commands containing ``pattern`` run, but lose their replies."""
        with self._lock:
            self._faults.append(_Fault("drop_reply", pattern, times))

    def cut_request(self, pattern: bytes, *, times: int = 1) -> None:
        """Cut the next ``times`` commands containing ``pattern`` half-way through."""
        with self._lock:
            self._faults.append(_Fault("cut_request", pattern, times))

    def blackhole(self, on: bool = True) -> None:
        """Stop (or resume) forwarding anything, without closing connections."""
        if on:
            self._blackhole.set()
        else:
            self._blackhole.clear()

    def cut_all(self) -> None:
        """Close every connection open right now."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close()

    def clear(self) -> None:
        """Disarm all faults that have not fired yet."""
        with self._lock:
            self._faults.clear()
        self._blackhole.clear()

    def close(self) -> None:
        self._stop.set()
        self._blackhole.clear()
        self.cut_all()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._accept_thread.join(timeout=2)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------
    def _take_fault(self, chunk: bytes) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.pattern in chunk:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    self.faults_fired += 1
                    return fault
        return None

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=2)
            except OSError:
                client.close()  # the server is down: refuse, as it would
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            pair = _Pair(client, upstream)
            with self._lock:
                self._pairs.append(pair)
            threading.Thread(target=self._pump_requests, args=(pair,), daemon=True).start()
            threading.Thread(target=self._pump_replies, args=(pair,), daemon=True).start()

    def _wait_if_blackholed(self, pair: _Pair) -> bool:
        while self._blackhole.is_set():
            if self._stop.is_set() or pair.closed:
                return False
            self._stop.wait(0.02)
        return not pair.closed

    def _pump_requests(self, pair: _Pair) -> None:
        try:
            while True:
                chunk = pair.client.recv(65536)
                if not chunk or not self._wait_if_blackholed(pair):
                    break
                fault = self._take_fault(chunk)
                if fault is not None and fault.kind == "cut_request":
                    pair.upstream.sendall(chunk[: max(1, len(chunk) // 2)])
                    break
                if fault is not None and fault.kind == "drop_reply":
                    pair.drop_next_reply = True
                pair.upstream.sendall(chunk)
        except OSError:
            pass
        pair.close()

    def _pump_replies(self, pair: _Pair) -> None:
        try:
            while True:
                chunk = pair.upstream.recv(65536)
                if not chunk or not self._wait_if_blackholed(pair):
                    break
                if pair.drop_next_reply:
                    break  # the command ran; the client never hears of it
                pair.client.sendall(chunk)
        except OSError:
            pass
        pair.close()
