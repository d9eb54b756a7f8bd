"""AccessGuard and the bind policy, over HTTP without a browser (the browser tests cover the rest)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from langmem_ext.ui.security import AccessGuard, BindRefusedError, allowed_hosts, check_bind, csrf_token

TOKEN = "t" * 43


async def echo(request: Request) -> PlainTextResponse:
    body = (await request.form()).get("x", "") if request.method == "POST" else ""
    return PlainTextResponse(f"{request.method} {body} {request.scope['state']['csrf']}")


def client(**kw) -> TestClient:
    app = Starlette(routes=[Route("/", echo, methods=["GET", "POST"])])
    guard = AccessGuard(app, token=TOKEN, hosts=allowed_hosts("127.0.0.1", 7600), key=b"k" * 32, **kw)
    return TestClient(guard, base_url="http://127.0.0.1:7600", follow_redirects=False)


def test_token_login_sets_a_strict_cookie_and_drops_the_token_from_the_url() -> None:
    c = client()
    assert c.get("/").status_code == 401
    assert c.get("/?token=nope").status_code == 401
    login = c.get(f"/?token={TOKEN}&page=2")
    assert login.status_code == 303 and login.headers["location"] == "/?page=2"
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    page = c.get("/")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
    assert re.fullmatch(r"app;dur=\d+\.\d\d", page.headers["server-timing"])
    assert "Secure" in client(secure_cookie=True).get(f"/?token={TOKEN}").headers["set-cookie"]


def test_bearer_token_works_for_scripts() -> None:
    c = client()
    assert c.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert c.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_writes_need_the_sessions_csrf_token_and_same_origin() -> None:
    c = client()
    c.get(f"/?token={TOKEN}")
    good = csrf_token(b"k" * 32, TOKEN)
    assert c.post("/", data={"x": "1"}).status_code == 403
    assert c.post("/", data={"x": "1", "csrf": csrf_token(b"other key" * 4, TOKEN)}).status_code == 403
    ok = c.post("/", data={"x": "1", "csrf": good})
    assert ok.status_code == 200 and ok.text == f"POST 1 {good}"  # the body is replayed to the route
    assert c.post("/", files={"csrf": (None, good), "x": (None, "2")}).text.startswith("POST 2")  # multipart
    assert c.post("/", data={"csrf": good}, headers={"Origin": "http://evil.example"}).status_code == 403
    assert c.post("/", data={"csrf": good}, headers={"X-CSRF-Token": "no"}).status_code == 403


def test_dns_rebinding_hosts_are_refused() -> None:
    c = client()
    assert c.get(f"/?token={TOKEN}", headers={"Host": "attacker.example:7600"}).status_code == 400
    assert c.get(f"/?token={TOKEN}", headers={"Host": "localhost:7600"}).status_code == 303


def test_bind_policy() -> None:
    assert check_bind("127.0.0.1", 1, allow_remote=False) is None and check_bind("::1", 1, allow_remote=False) is None
    with pytest.raises(BindRefusedError, match="--allow-remote"):
        check_bind("192.168.1.5", 7600, allow_remote=False)
    warning = check_bind("0.0.0.0", 7600, allow_remote=True)
    assert "read every user's memories" in warning and "plain HTTP" in warning
    assert allowed_hosts("0.0.0.0", 7600) == []  # remote: any Host (the operator chose exposure)
    with pytest.raises(ValueError, match="16 characters"):
        AccessGuard(Starlette(), token="short")


def test_cli_refuses_a_remote_bind_without_allow_remote(redis_server: str, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("langmem-ext")
    done = subprocess.run([str(script), "--redis-url", redis_server, "ui", "--host", "0.0.0.0", "--port", "0"],
                          capture_output=True, text=True, timeout=120, env={"LANGMEM_EXT_HOME": str(tmp_path), "COLUMNS": "300"})
    assert done.returncode == 2
    assert "without --allow-remote" in done.stderr and "token=" not in done.stdout + done.stderr  # errors: stderr


def test_cli_remote_bind_says_what_it_exposes(redis_server: str, tmp_path: Path) -> None:
    from tests.ui._harness import start_ui, stop_ui

    server = start_ui(redis_server, "--host", "0.0.0.0", "--allow-remote", home=tmp_path)
    try:
        text = " ".join("".join(server.output).split())
        assert "reachable from other machines" in text and "erase whole users" in text
    finally:
        stop_ui(server)
