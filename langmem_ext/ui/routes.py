"""The routes of the memory browser (see :mod:`langmem_ext.ui.app`).

Each route parses the request, makes one or a few calls to the memory service (or to
:mod:`langmem_ext.ui.threads`) in a worker thread, and renders a template. Writes are
POSTs (the guard has checked their CSRF token) answered with a redirect back to the
page they came from, carrying a one-line flash message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from langmem_ext.ui import threads as T
from langmem_ext.ui import views as V

__all__ = ["USER_TABS", "build", "user_page_data"]

USER_TABS: list[tuple[str, str]] = [
    ("user", "Memories"), ("search", "Search"), ("stats", "Stats"), ("threads", "Threads"), ("forget", "Forget"),
]
"""The tabs of a user's pages: (route name, label)."""

PER_PAGE = 20
"""Current facts per page; the other lists of a user's page show half as many."""
SHORT_PAGE = 10
USERS_PER_PAGE = 100
SEARCH_HITS = 10


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _back(request: Request, form: Any, user_id: str) -> str:
    """Where a write returns: the page it came from (same site only), else the user's page."""
    back = str(form.get("back") or "")
    parts = urlsplit(back)
    if back.startswith("/") and not back.startswith("//") and not parts.scheme and not parts.netloc:
        return back
    return str(request.url_for("user", user_id=user_id).path)


def _with_flash(url: str, message: str, *, bad: bool = False) -> str:
    path, _, query = url.partition("?")
    params = [p for p in query.split("&") if p and not p.startswith(("flash=", "bad="))]
    params.append(urlencode({"flash": message[:500], **({"bad": "1"} if bad else {})}))
    return f"{path}?{'&'.join(params)}"


def user_page_data(service: Any, user_id: str, cursors: dict[str, str | None]) -> dict[str, Any]:
    """The service calls behind a user's page: the counts per kind and one page of each list.

    Counting asks the index per namespace, without reading the user's memories (a few
    milliseconds at 10,000; see docs/benchmarks.md).
    """
    return {
        "summary": service.user_summary(user_id),
        "facts": service.list_memories(user_id, kind="semantic", closed=False, limit=PER_PAGE, cursor=cursors["facts"],
                                       with_history=True),
        "closed": service.list_memories(user_id, kind="semantic", closed=True, limit=SHORT_PAGE,
                                        cursor=cursors["closed"], with_history=True),
        "episodes": service.list_memories(user_id, kind="episodic", limit=SHORT_PAGE, cursor=cursors["episodes"],
                                          with_history=True),
        "rules": service.list_memories(user_id, kind="procedural", limit=SHORT_PAGE, cursor=cursors["rules"],
                                       with_history=True),
    }


def build(state: Any, render: Callable[..., Response]) -> list[Route]:
    """The routes, closed over the shared :class:`~langmem_ext.ui.app.UIState`."""
    from langmem_ext.service import ServiceError

    service = state.service

    def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
        flash = request.query_params.get("flash")
        return render(request, template, {"flash": flash, "flash_bad": bool(request.query_params.get("bad")),
                                          **context}, status)

    def failed(request: Request, user_id: str | None, exc: ServiceError) -> Response:
        status = 404 if exc.code == "not_found" else 400 if exc.code in ("invalid_request", "limit_exceeded") else 503
        return render(request, "missing.html", {"what": str(exc), "user_id": user_id}, status)

    async def users(request: Request) -> Response:
        number = max(1, _int(request.query_params.get("page"), 1))
        found = await run_in_threadpool(service.list_users, limit=USERS_PER_PAGE + 1,
                                        offset=(number - 1) * USERS_PER_PAGE)
        more = len(found) > USERS_PER_PAGE
        kinds = sorted({k for u in found for k in u.counts} | {"semantic", "episodic", "procedural"})
        return page(request, "users.html", {"users": found[:USERS_PER_PAGE], "kinds": kinds, "number": number,
                                            "more": more})

    async def user(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        cursors = {name: request.query_params.get(name) or None for name in ("facts", "closed", "episodes", "rules")}
        try:
            data = await run_in_threadpool(user_page_data, service, user_id, cursors)
        except ServiceError as exc:
            return failed(request, user_id, exc)
        closed = data["closed"].memories
        return page(request, "user.html", {
            "user_id": user_id, "tab": "user", "summary": data["summary"],
            "facts": data["facts"].memories, "closed": closed, "bars": V.timeline(closed),
            "episodes": V.in_time_order(data["episodes"].memories), "rules": data["rules"].memories,
            "next": {k: data[k].next_cursor for k in ("facts", "closed", "episodes", "rules")},
            "cursors": cursors, "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        })

    async def search(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        query = (request.query_params.get("q") or "").strip()
        hits: list[Any] = []
        if query:
            try:
                hits = await run_in_threadpool(service.search, user_id, query, limit=SEARCH_HITS)
            except ServiceError as exc:
                return failed(request, user_id, exc)
        return page(request, "search.html", {"user_id": user_id, "tab": "search", "query": query, "hits": hits})

    async def stats(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        try:
            found = await run_in_threadpool(service.stats, user_id)
        except ServiceError as exc:
            return failed(request, user_id, exc)
        return page(request, "stats.html", {"user_id": user_id, "tab": "stats", "stats": found})

    async def export(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        try:
            result = await run_in_threadpool(service.export, user_id)
        except ServiceError as exc:
            return failed(request, user_id, exc)
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in user_id)[:80] or "user"
        return Response("".join(result.lines()), media_type="application/x-ndjson",
                        headers={"content-disposition": f'attachment; filename="{name}.jsonl"'})

    async def write(request: Request, action: Callable[[str, str, Any], str]) -> Response:
        user_id, memory_id = request.path_params["user_id"], request.path_params["memory_id"]
        form = await request.form()
        back = _back(request, form, user_id)
        try:
            message = await run_in_threadpool(action, user_id, memory_id, form)
        except ServiceError as exc:
            return RedirectResponse(_with_flash(back, str(exc), bad=True), status_code=303)
        return RedirectResponse(_with_flash(back, message), status_code=303)

    def do_edit(user_id: str, memory_id: str, form: Any) -> str:
        current = service.show(user_id, memory_id)
        content = str(form.get("content") or "").replace("\r\n", "\n").strip()
        before = current.fields.get("rule") or current.fields.get("situation") or current.content
        importance = _int(form.get("importance"), current.importance)
        result = service.update(
            user_id, memory_id,
            content=content if content != before else None,
            importance=importance if importance != current.importance else None,
            reason=str(form.get("reason") or "").strip() or "edited in the memory browser",
        )
        return f"Saved (version {result.memory.version})." if result.changed else result.note

    def do_pin(user_id: str, memory_id: str, form: Any) -> str:
        pinned = str(form.get("pinned")) == "1"
        result = service.pin(user_id, memory_id, pinned=pinned)
        return ("Pinned: forgetting will never drop it." if pinned else "Unpinned.") if result.changed else result.note

    def do_delete(user_id: str, memory_id: str, form: Any) -> str:
        gone = service.delete(user_id, memory_id)
        return f"Deleted: {gone.content[:120]}"

    async def edit(request: Request) -> Response:
        return await write(request, do_edit)

    async def pin(request: Request) -> Response:
        return await write(request, do_pin)

    async def delete(request: Request) -> Response:
        return await write(request, do_delete)

    def do_forget(user_id: str) -> dict[str, Any]:
        threads = T.forget_threads(state.saver, user_id)
        result = service.forget_user(user_id)
        return {"result": result, "threads": threads.deleted, "threads_left": threads.remaining}

    async def forget(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        context: dict[str, Any] = {"user_id": user_id, "tab": "forget", "result": None, "threads": None,
                                   "threads_left": None}
        if request.method == "POST":
            form = await request.form()
            if str(form.get("confirm") or "").strip() != user_id:
                context["flash"], context["flash_bad"] = (
                    f"Nothing was erased: type the user id {user_id!r} exactly to confirm.", True)
                return render(request, "forget.html", context, 400)
            try:
                context.update(await run_in_threadpool(do_forget, user_id))
            except ServiceError as exc:
                return failed(request, user_id, exc)
        return page(request, "forget.html", context)

    async def thread_list(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        found = await run_in_threadpool(T.list_threads, state.saver, user_id)
        return page(request, "threads.html", {"user_id": user_id, "threads": found, "tab": "threads"})

    async def thread_page(request: Request) -> Response:
        user_id, thread_id = request.path_params["user_id"], request.path_params["thread_id"]
        view = await run_in_threadpool(T.thread_view, state.saver, thread_id, user_id=user_id)
        if view is None:
            return render(request, "missing.html", {
                "what": f"No thread {thread_id!r} of user {user_id!r} in this checkpointer.",
                "user_id": user_id}, status=404)
        return page(request, "thread.html", {"user_id": user_id, "view": view, "tab": "threads"})

    return [
        Route("/", users, name="users"),
        Route("/users/{user_id}", user, name="user"),
        Route("/users/{user_id}/search", search, name="search"),
        Route("/users/{user_id}/stats", stats, name="stats"),
        Route("/users/{user_id}/export.jsonl", export, name="export"),
        Route("/users/{user_id}/forget", forget, methods=["GET", "POST"], name="forget"),
        Route("/users/{user_id}/memories/{memory_id}/edit", edit, methods=["POST"], name="memory_edit"),
        Route("/users/{user_id}/memories/{memory_id}/pin", pin, methods=["POST"], name="memory_pin"),
        Route("/users/{user_id}/memories/{memory_id}/delete", delete, methods=["POST"], name="memory_delete"),
        Route("/users/{user_id}/threads", thread_list, name="threads"),
        Route("/users/{user_id}/threads/{thread_id:path}", thread_page, name="thread"),
    ]
