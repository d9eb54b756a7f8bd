"""Who may use the memory browser: access token, cookie, CSRF, Host check, bind policy.

The rules, all pure functions plus one small ASGI middleware:

* **Access token.** :func:`new_token` is minted once per start and printed in the URL
  (as Jupyter does). The first visit with ``?token=...`` sets an HttpOnly, SameSite=Strict
  cookie and redirects to the same address without the token, so it leaves the address
  bar and the browser history. Every later request needs the cookie (or an
  ``Authorization: Bearer`` header, for scripts). Anything else gets 401.
* **CSRF.** Every write is a POST whose form carries ``csrf`` = :func:`csrf_token` of the
  session: an HMAC of the cookie under a per-process key, so no page can forge it. A POST
  without it, or with another session's, gets 403; so does a POST whose ``Origin`` is
  another site.
* **Host.** A request whose ``Host`` header is not one of the bound names gets 400: a
  page on another site that re-points its DNS name at 127.0.0.1 (DNS rebinding) cannot
  read the app even though the browser thinks it is same-origin.
* **Bind.** :func:`check_bind` refuses a non-loopback address unless ``allow_remote`` is
  set, and says what a remote bind exposes.

Example:
    >>> tok = new_token()
    >>> len(tok) >= 32 and tokens_equal(tok, tok) and not tokens_equal(tok, tok[:-1] + "x")
    True
    >>> key = b"k" * 32
    >>> csrf_token(key, "session-a") == csrf_token(key, "session-a") != csrf_token(key, "session-b")
    True
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, True, False)
    >>> allowed_hosts("127.0.0.1", 7600)
    ['127.0.0.1:7600', 'localhost:7600', '[::1]:7600']
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = [
    "COOKIE",
    "REMOTE_WARNING",
    "AccessGuard",
    "BindRefusedError",
    "allowed_hosts",
    "check_bind",
    "csrf_token",
    "is_loopback",
    "new_token",
    "tokens_equal",
]

COOKIE = "langmem_ext_ui"
"""Name of the session cookie (its value is the access token)."""

REMOTE_WARNING = (
    "The memory browser on {host}:{port} is reachable from other machines. Anyone who can reach "
    "that address and holds the access token can read every user's memories and conversation "
    "threads in this Redis, edit and delete them, and erase whole users. The traffic is plain "
    "HTTP: the token and the memories cross the network unencrypted, so put it behind a TLS "
    "proxy or an SSH tunnel (`ssh -L`), and keep the token secret."
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BindRefusedError(ValueError):
    """A non-loopback bind without ``allow_remote``."""


def new_token() -> str:
    """A fresh random access token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def tokens_equal(a: str | None, b: str | None) -> bool:
    """Constant-time comparison; ``None`` never matches."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def csrf_token(key: bytes, session: str) -> str:
    """The CSRF token of one session: ``HMAC-SHA256(key, session)``, hex."""
    return hmac.new(key, b"csrf:" + session.encode(), hashlib.sha256).hexdigest()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts local connections."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, port: int, *, allow_remote: bool) -> str | None:
    """Refuse a remote bind without ``allow_remote``; return the warning to print for one with it.

    Raises:
        BindRefusedError: ``host`` is not a loopback address and ``allow_remote`` is False.

    Example:
        >>> check_bind("127.0.0.1", 7600, allow_remote=False) is None
        True
        >>> check_bind("0.0.0.0", 7600, allow_remote=False)
        Traceback (most recent call last):
        ...
        langmem_ext.ui.security.BindRefusedError: Refusing to serve the memory browser on 0.0.0.0:7600 ...
        >>> check_bind("0.0.0.0", 7600, allow_remote=True).startswith("The memory browser on 0.0.0.0:7600 is reachable")
        True
    """
    if is_loopback(host):
        return None
    warning = REMOTE_WARNING.format(host=host, port=port)
    if not allow_remote:
        raise BindRefusedError(
            f"Refusing to serve the memory browser on {host}:{port} without --allow-remote. "
            f"{warning.split('. ', 1)[1]} Bind to 127.0.0.1 (the default) and tunnel to it, or pass "
            "--allow-remote if that is what you want."
        )
    return warning


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> list[str]:
    """``Host`` header values accepted for a server bound to ``host:port``.

    Loopback binds accept the loopback names; a remote bind (any address) accepts any
    ``Host`` (the operator chose exposure), unless ``extra`` narrows it.
    """
    if is_loopback(host):
        return [f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", *extra]
    return list(extra)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is just "no cookie"
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def _bearer(scope: Scope) -> str | None:
    raw = _header(scope, b"authorization") or ""
    scheme, _, value = raw.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def _reply(send: Send, status: int, body: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = body.encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(data)).encode()),
            (b"cache-control", b"no-store"),
            *(headers or []),
        ],
    })
    await send({"type": "http.response.body", "body": data})


SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    # No inline script or style at all: even a memory that escaped escaping could not run.
    (b"content-security-policy",
     b"default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class AccessGuard:
    """ASGI middleware: Host check, token/cookie, CSRF on POST, security headers, Server-Timing.

    Args:
        app: The wrapped application.
        token: The access token of this run.
        hosts: Accepted ``Host`` values (empty = any; see :func:`allowed_hosts`).
        key: The HMAC key for CSRF tokens (random per process by default).
        secure_cookie: Mark the cookie ``Secure`` (only behind an HTTPS proxy).

    The CSRF check reads the form body of a POST, then replays it to the app, so routes
    read ``await request.form()`` as usual. ``scope["state"]["csrf"]`` carries the token
    for templates.
    """

    def __init__(self, app: ASGIApp, *, token: str, hosts: Iterable[str] = (), key: bytes | None = None,
                 secure_cookie: bool = False, max_form_bytes: int = 1_000_000) -> None:
        if not token or len(token) < 16:
            raise ValueError("The access token must be at least 16 characters; use new_token().")
        self.app, self.token = app, token
        self.hosts = {h.lower() for h in hosts}
        self.key = key if key is not None else secrets.token_bytes(32)
        self.secure_cookie, self.max_form_bytes = secure_cookie, max_form_bytes

    def csrf(self) -> str:
        """The CSRF token of the (single) session this server accepts."""
        return csrf_token(self.key, self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = (_header(scope, b"host") or "").lower()
        if self.hosts and host not in self.hosts:
            await _reply(send, 400, f"Unexpected Host header {host!r}: open the URL the server printed.")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if tokens_equal(query.get("token"), self.token):
            await self._login(scope, send, query)
            return
        if not (tokens_equal(_cookie(scope), self.token) or tokens_equal(_bearer(scope), self.token)):
            await _reply(
                send, 401,
                "The memory browser needs its access token: open the URL that `langmem-ext ui` printed "
                "(it ends in ?token=...).",
            )
            return
        if scope["method"] not in ("GET", "HEAD"):
            refused = self._origin_problem(scope, host)
            body = b""
            if refused is None:
                body, refused = await self._read_body(receive)
            if refused is None and not self._csrf_ok(scope, body):
                refused = "Missing or wrong CSRF token: reload the page and submit the form again."
            if refused is not None:
                await _reply(send, 403, refused + " Nothing was changed.")
                return
            receive = _replay(body, receive)
        scope.setdefault("state", {})["csrf"] = self.csrf()
        await self.app(scope, receive, _with_headers(send))

    async def _login(self, scope: Scope, send: Send, query: dict[str, str]) -> None:
        rest = {k: v for k, v in query.items() if k != "token"}
        location = scope.get("root_path", "") + scope["path"] + (("?" + urlencode(rest)) if rest else "")
        cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if self.secure_cookie else "")
        await _reply(send, 303, "Signed in.", [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                                               *SECURITY_HEADERS[:-1]])

    def _origin_problem(self, scope: Scope, host: str) -> str | None:
        origin = _header(scope, b"origin")
        if origin and origin != "null" and urlsplit(origin).netloc.lower() != host:
            return f"Cross-site request from {origin!r} refused."
        return None

    async def _read_body(self, receive: Receive) -> tuple[bytes, str | None]:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", "Client went away."
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_form_bytes:
                return b"", f"Form over {self.max_form_bytes:,} bytes refused."
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks), None

    def _csrf_ok(self, scope: Scope, body: bytes) -> bool:
        sent = _header(scope, b"x-csrf-token")
        if sent is None:
            kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if kind == "application/x-www-form-urlencoded":
                sent = dict(parse_qsl(body.decode("utf-8", "replace"))).get("csrf")
            elif kind == "multipart/form-data":
                sent = _multipart_field(scope, body, "csrf")
        return tokens_equal(sent, self.csrf())


def _multipart_field(scope: Scope, body: bytes, name: str) -> str | None:
    """The value of one small text field of a multipart form (None if absent)."""
    kind = _header(scope, b"content-type") or ""
    boundary = next((p.split("=", 1)[1].strip('"') for p in kind.split(";") if p.strip().startswith("boundary=")), None)
    if not boundary:
        return None
    marker = f'name="{name}"'.encode()
    for part in body.split(b"--" + boundary.encode()):
        head, _, value = part.partition(b"\r\n\r\n")
        if marker in head and b"filename=" not in head:
            return value.rstrip(b"\r\n").decode("utf-8", "replace")
    return None


def _replay(body: bytes, then: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the real channel."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive


def _with_headers(send: Send) -> Send:
    started = time.perf_counter()

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers") or []}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
            took = (time.perf_counter() - started) * 1000
            extra.append((b"server-timing", f"app;dur={took:.2f}".encode()))
            message = {**message, "headers": [*(message.get("headers") or []), *extra]}
        await send(message)

    return wrapped
