"""The memory browser's Starlette application: thin routes over the service layer.

Routes only parse the request, call one function (the service layer for memories,
:mod:`langmem_ext.ui.threads` for threads) in a worker thread, and render a template.
Access control, CSRF and security headers are :class:`~langmem_ext.ui.security.AccessGuard`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from langmem_ext.ui.security import AccessGuard, new_token

__all__ = ["UIState", "create_app"]

HERE = Path(__file__).resolve().parent


@dataclass
class UIState:
    """What the routes share: the backends and this run's secrets."""

    saver: Any
    store: Any = None
    service: Any = None
    where: str = ""
    """Shown in the header (the Redis URL without its password)."""
    extras: dict[str, Any] = field(default_factory=dict)


def _templates() -> Any:
    import jinja2
    from starlette.templating import Jinja2Templates

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,  # every template, every value: memory text renders as text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from langmem_ext.ui.views import score_segments, word_diff

    env.globals.update(word_diff=word_diff, segments=lambda score: score_segments(score, score.weights))
    return Jinja2Templates(env=env)


def _args(request: Any) -> Callable[[str, Any], str]:
    """``args(name, value)``: the current query string with one parameter replaced."""

    def build(name: str, value: Any) -> str:
        params = dict(request.query_params)
        params[name] = str(value)
        return urlencode(params)

    return build


def create_app(
    *,
    saver: Any,
    store: Any = None,
    service: Any = None,
    token: str | None = None,
    hosts: list[str] | None = None,
    where: str = "",
    secure_cookie: bool = False,
) -> AccessGuard:
    """The memory browser as an ASGI app, wrapped in its :class:`AccessGuard`.

    Args:
        saver: The checkpointer whose threads are shown.
        store: The store holding the memories.
        service: The memory service (built from ``store`` when None).
        token: The access token (a fresh one when None; read it back as ``app.token``).
        hosts: Accepted ``Host`` header values (see :func:`~langmem_ext.ui.security.allowed_hosts`).
        where: A line shown in the header, e.g. the Redis URL without its password.
        secure_cookie: Mark the session cookie ``Secure`` (behind an HTTPS proxy).
    """
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from langmem_ext.ui import routes

    if service is None:
        if store is None:
            raise ValueError("create_app needs store= (the memories' store) or service= (a MemoryService).")
        from langmem_ext.service import MemoryService

        service = MemoryService(store)
    state = UIState(saver=saver, store=store, service=service, where=where)
    templates = _templates()

    def render(request: Any, name: str, context: dict[str, Any], status: int = 200) -> Any:
        base = {"where": state.where, "csrf": request.scope.get("state", {}).get("csrf", ""), "args": _args(request),
                "user_tabs": routes.USER_TABS}
        return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)

    app = Starlette(
        routes=[
            *routes.build(state, render),
            Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
    )
    return AccessGuard(app, token=token or new_token(), hosts=hosts or (), secure_cookie=secure_cookie)
