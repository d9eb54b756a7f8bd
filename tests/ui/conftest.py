"""Fixtures of the memory browser tests (see ``_harness.py`` for what they rely on)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.ui._harness import UIServer, find_chromium, install_chromium, start_ui, stop_ui


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return find_chromium() or install_chromium()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """Chromium for one module. Not for the session: while Playwright's sync API is open its
    event loop counts as running in this thread, so later ``asyncio.run`` calls (doctests) fail."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def ui(redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    """One server for a module; its Redis is emptied when the module ends."""
    client = redis.Redis.from_url(redis_server)
    client.flushall()  # the store's index is created by the server at start
    server = start_ui(redis_server, home=tmp_path_factory.mktemp("ui-home"))
    try:
        yield server
    finally:
        stop_ui(server)
        client.flushall()
        client.close()


@pytest.fixture
def page(browser: Any, ui: UIServer) -> Iterator[Any]:
    """A fresh browser context that has opened the printed URL (so it holds the cookie)."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    pg.goto(ui.url)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go (see the module docstring)."""
    given = os.environ.get("LANGMEM_EXT_UI_SCREENSHOTS")
    folder = Path(given) if given else tmp_path_factory.mktemp("ui-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
