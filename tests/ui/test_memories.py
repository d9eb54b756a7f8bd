"""The memory browser end to end, in Chromium: search, edit, pin, delete, forget, export, escaping.

Memories are written the ways users write them (a LangGraph graph with ReflectionNode,
or the service the CLI and MCP server use), and every change the browser makes is
checked in Redis itself, through a fresh store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from langchain_core.messages import HumanMessage

from tests.reliability._forensics import traces
from tests.ui._harness import screenshot

HOSTILE = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">Likes <b>bold</b> tea'


@pytest.fixture
def backends(ui: Any) -> Iterator[tuple[Any, Any, Any]]:
    """(RedisSaver, RedisStore, MemoryService) on the server's Redis, opened by the test itself."""
    from langmem_ext.graphs.common import redis_backends
    from langmem_ext.service import MemoryService

    with redis_backends(ui.redis_url) as (saver, store):
        yield saver, store, MemoryService(store)


def _converse(saver: Any, store: Any, user: str, *texts: str, thread: str = "t1") -> None:
    from langmem_ext.graphs import chatbot
    from langmem_ext.graphs.common import thread_config
    from langmem_ext.models import OfflineResponder

    graph = chatbot.build_graph(checkpointer=saver, store=store, model=OfflineResponder())
    for text in texts:
        graph.invoke({"messages": [HumanMessage(text)]}, thread_config(thread, user_id=user))
    chatbot.wait_for_reflection(graph)


def _stored(store: Any, user: str, memory_id: str) -> dict[str, Any] | None:
    for kind in ("semantic", "episodic", "procedural"):
        item = store.get(("memories", user, kind), memory_id)
        if item is not None:
            return item.value
    return None


def test_search_finds_a_memory_written_by_a_graph(ui: Any, page: Any, backends: Any, shots: Any) -> None:
    saver, store, service = backends
    _converse(saver, store, "ana", "I work as a marine biologist.", "My sister Lena lives in Oslo.")
    for text, start, end in (("Ana lived in Lyon", "2018-09-01", "2021-06-30"), ("Ana studied in Ghent", "2021-07-01", "2023-02-01")):
        old = service.add("ana", kind="semantic", content=text).memory.id
        service.update("ana", old, fields={"valid_from": f"{start}T00:00:00+00:00", "valid_to": f"{end}T00:00:00+00:00"},
                       reason="moved on")

    page.goto(ui.base + "/")
    row = page.locator("#users tr", has_text="ana")
    assert row.count() == 1
    screenshot(page, shots, "users")
    row.locator("a").click()
    assert page.url.endswith("/users/ana")
    assert "biologist" in page.locator("#facts").inner_text()
    summary = service.user_summary("ana")
    counts = page.locator("#counts").inner_text()
    assert f"{summary.counts['semantic']} semantic" in counts and f"{summary.total} in all" in counts
    assert summary.counts["semantic"] >= 3  # the two closed facts and the job
    assert page.locator("svg.timeline rect").count() == 2  # the closed facts on their validity timeline
    screenshot(page, shots, "user")

    page.fill("input[name=q]", "what is my job")
    page.click("form.search button")
    hits = page.locator("#hits tr.hit")
    assert hits.count() >= 1
    first = hits.first
    assert "biologist" in first.inner_text()
    parts = {n: float(first.locator(f"td.{n}").inner_text()) for n in ("relevance", "recency", "importance", "strength")}
    assert all(0.0 <= v <= 1.0 for v in parts.values()) and parts["relevance"] == 1.0  # the best match
    assert first.locator("svg.bar rect").count() == 4  # the score split into its four parts
    screenshot(page, shots, "search")


def test_an_edit_lands_in_redis_with_history(ui: Any, page: Any, backends: Any) -> None:
    _, store, service = backends
    added = service.add("ben", kind="semantic", content="Ben lives in Lisbon")
    mid = added.memory.id

    page.goto(ui.base + "/users/ben")
    card = page.locator(f"#m-{mid}")
    card.locator("details.edit summary").click()
    card.locator("textarea[name=content]").fill("Ben lives in Porto since May")
    card.locator("input[name=reason]").fill("he moved")
    card.locator("details.edit button").click()
    assert "Saved (version 2)" in page.locator("#flash").inner_text()

    value = _stored(store, "ben", mid)
    assert value is not None and value["content"] == "Ben lives in Porto since May" and value["version"] == 2
    assert [(h["op"], h["old"], h["reason"]) for h in value["history"]][-1] == ("update", "Ben lives in Lisbon", "he moved")
    card = page.locator(f"#m-{mid}")
    card.locator("details.history-box summary").click()
    change = card.locator(".history li").last  # the first entry is the insert
    assert "he moved" in change.inner_text()
    assert change.locator(".diff del").inner_text() == "Lisbon"
    assert change.locator(".diff ins").inner_text() == "Porto since May"


def test_pin_then_delete_removes_it_from_redis(ui: Any, page: Any, backends: Any) -> None:
    _, store, service = backends
    mid = service.add("cy", kind="procedural", content="Answer in French").memory.id

    page.goto(ui.base + "/users/cy")
    page.locator(f"#m-{mid} button.pin").click()
    assert _stored(store, "cy", mid)["pinned"] is True
    assert page.locator(f"#m-{mid} .pill.pinned").count() == 1

    page.locator(f"#m-{mid} button.delete").click()
    assert "Deleted" in page.locator("#flash").inner_text()
    assert _stored(store, "cy", mid) is None
    assert page.locator(f"#m-{mid}").count() == 0


def test_forget_user_erases_everything_scan_verified(ui: Any, page: Any, backends: Any, shots: Any) -> None:
    saver, store, service = backends
    secret, other = "locker code zebra-4417", "locker code okapi-9051"
    _converse(saver, store, "zoe", f"My {secret}, remember it.", "I live in Ghent.", thread="zoe-1")
    _converse(saver, store, "zoe", "I like jazz.", thread="zoe-2")
    _converse(saver, store, "yan", f"My {other}.", thread="yan-1")
    client = redis.Redis.from_url(ui.redis_url)
    assert traces(client, b"zebra-4417")  # control: the secret is there to find (memories and threads)

    page.goto(ui.base + "/users/zoe/forget")
    page.fill("input[name=confirm]", "zo")  # a wrong confirmation erases nothing
    page.click("#forget-form button")
    assert "Nothing was erased" in page.locator("#flash").inner_text()
    assert traces(client, b"zebra-4417")

    page.fill("input[name=confirm]", "zoe")
    page.click("#forget-form button")
    result = page.locator("#forget-result")
    assert result.locator(".remaining").inner_text() == "0"
    assert "SCAN" in result.inner_text() and "2</b> conversation threads" in result.inner_html()
    screenshot(page, shots, "forget")

    assert traces(client, b"zebra-4417") == []  # every key walked, every value dumped
    assert traces(client, b"okapi-9051")  # the other user is untouched
    assert service.user_summary("zoe").total == 0 and service.user_summary("yan").total > 0
    client.close()


def test_html_and_script_memories_render_inert(ui: Any, page: Any, backends: Any) -> None:
    saver, store, service = backends
    mid = service.add("eve", kind="semantic", content=HOSTILE).memory.id
    _converse(saver, store, "eve", HOSTILE, thread="eve-1")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    for path in ("/users/eve", "/users/eve/search?q=tea", "/users/eve/threads/eve-1", "/"):
        page.goto(ui.base + path)
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("main img").count() == 0 and page.locator("main b:text('bold')").count() == 0, path
        assert page.locator("main script").count() == 0, path
    page.goto(ui.base + "/users/eve")
    assert page.locator(f"#m-{mid} .text").inner_text() == HOSTILE  # shown as the text it is
    assert page.locator(f"#m-{mid} textarea").input_value() == HOSTILE
    page.goto(ui.base + "/users/eve/threads/eve-1")
    assert HOSTILE in page.locator("#history .msg .body").first.inner_text()
    assert dialogs == []


def test_post_without_csrf_token_is_refused(ui: Any, page: Any, backends: Any) -> None:
    _, store, service = backends
    mid = service.add("fay", kind="semantic", content="Fay plays the cello").memory.id
    page.goto(ui.base + "/users/fay")
    token = page.locator(f"#m-{mid} input[name=csrf]").first.input_value()
    url = f"{ui.base}/users/fay/memories/{mid}/delete"

    # The browser's own session (cookie sent) without, or with a wrong, CSRF token.
    for form in ({}, {"csrf": "0" * 64}, {"csrf": token + "x"}):
        response = page.request.post(url, form=form, max_redirects=0)
        assert response.status == 403 and "CSRF" in response.text()
    other_site = page.request.post(url, form={"csrf": token}, headers={"Origin": "http://evil.example"}, max_redirects=0)
    assert other_site.status == 403
    assert _stored(store, "fay", mid) is not None  # nothing was deleted

    ok = page.request.post(url, form={"csrf": token}, max_redirects=0)
    assert ok.status == 303 and _stored(store, "fay", mid) is None  # the control: with it, it works


def test_requests_without_the_access_token_are_refused(ui: Any, browser: Any, page: Any) -> None:
    assert "token=" not in page.url  # the token left the address bar after the first visit
    cookie = next(c for c in page.context.cookies() if c["name"] == "langmem_ext_ui")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    stranger = browser.new_context()
    try:
        tab = stranger.new_page()
        for path in ("/", "/users/ana", "/users/ana/export.jsonl", "/?token=wrong"):
            response = tab.goto(ui.base + path)
            assert response.status == 401, path
            assert "access token" in tab.locator("body").inner_text()
        refused = tab.request.post(ui.base + "/users/ana/forget", form={"confirm": "ana"}, max_redirects=0)
        assert refused.status == 401
        response = tab.goto(ui.url)  # the printed URL lets the stranger in: the token is the key
        assert response.status == 200 and tab.locator("h1").inner_text() == "Users"
    finally:
        stranger.close()


def test_export_downloads_json_lines(ui: Any, page: Any, backends: Any) -> None:
    _, _, service = backends
    service.add("gus", kind="semantic", content="Gus has two cats")
    page.goto(ui.base + "/users/gus")
    with page.expect_download() as info:
        page.click("text=export JSON Lines")
    lines = [json.loads(line) for line in open(info.value.path()).read().splitlines()]
    assert any(r["value"].get("content") == "Gus has two cats" and r["namespace"][:2] == ["memories", "gus"] for r in lines)


def test_stats_page_shows_what_forgetting_drops_next(ui: Any, page: Any, backends: Any, shots: Any) -> None:
    _, _, service = backends
    weak = service.add("hal", kind="semantic", content="Hal once mentioned a parking ticket", importance=2).memory.id
    kept = service.add("hal", kind="semantic", content="Hal is allergic to penicillin", importance=10).memory.id
    service.pin("hal", kept, pinned=True)
    page.goto(ui.base + "/users/hal/stats")
    nxt = page.locator("#forget-next").inner_text()
    assert "parking ticket" in nxt and "penicillin" not in nxt  # pinned memories are never forgotten
    assert re.search(r"pinned\s+1", page.locator("#overview").inner_text())
    assert weak
    screenshot(page, shots, "stats")
