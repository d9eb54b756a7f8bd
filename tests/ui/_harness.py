"""Harness of the browser tests: find or install Chromium, run `langmem-ext ui`, screenshots.

* The browser is Debian's ``chromium`` (``$LANGMEM_EXT_CHROMIUM`` to use another), driven
  by Playwright for Python; when it is absent the set-up installs it with apt-get (as
  ``make test`` does). If that fails the run FAILS: a missing browser never skips.
* The server is the real command, ``langmem-ext ui --port 0``, in a subprocess, on the
  session's Redis; the tests read the URL and token it prints, as a user would.
* Screenshots go to ``$LANGMEM_EXT_UI_SCREENSHOTS`` (``docs/img`` to refresh the ones
  docs/ui.md shows), else to a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

URL_LINE = re.compile(r"^\s+(http://\S+/\?token=(\S+))$", re.M)


def find_chromium() -> str | None:
    """The browser to drive: ``$LANGMEM_EXT_CHROMIUM``, else ``chromium`` on the PATH."""
    given = os.environ.get("LANGMEM_EXT_CHROMIUM")
    if given:
        return given if Path(given).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def install_chromium() -> str:
    """Install Debian's chromium with apt-get (as ``make browser``); fail the run if that fails."""
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None or not shutil.which("apt-get"):
        pytest.fail("chromium is not installed and apt-get cannot install it here: run `make browser` "
                    "(or apt-get install chromium), or set LANGMEM_EXT_CHROMIUM to a Chromium binary.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run([*sudo, *cmd], env=env, capture_output=True, text=True, timeout=900)
        if done.returncode:
            pytest.fail(f"`{' '.join(cmd)}` failed ({done.returncode}): {done.stderr[-2000:]}")
    found = find_chromium()
    if found is None:
        pytest.fail("apt-get installed chromium but no `chromium` is on the PATH.")
    return found


@dataclass
class UIServer:
    """A running ``langmem-ext ui`` and what it printed."""

    url: str
    """The address with its ``?token=`` (what the user opens)."""
    base: str
    token: str
    redis_url: str
    process: subprocess.Popen
    output: list[str]

    def path(self, path: str) -> str:
        return self.base + path


def _pump(stream: Any, into: list[str], seen: threading.Event) -> None:
    for line in iter(stream.readline, ""):
        into.append(line)
        if URL_LINE.search(line):
            seen.set()


def start_ui(redis_url: str, *extra: str, home: Path) -> UIServer:
    """Run ``langmem-ext --redis-url URL ui --port 0`` and wait for the URL it prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LANGMEM_EXT_"))}
    env.update(LANGMEM_EXT_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="200")
    script = Path(sys.executable).with_name("langmem-ext")  # the installed command, as a user runs it
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "langmem_ext.cli"]
    cmd = [*entry, "--redis-url", redis_url, "ui", "--port", "0", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    output: list[str] = []
    seen = threading.Event()
    threading.Thread(target=_pump, args=(proc.stdout, output, seen), daemon=True).start()
    deadline = time.monotonic() + 120
    while not seen.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("`langmem-ext ui` did not print its URL:\n" + "".join(output))
    match = URL_LINE.search("".join(output))
    assert match is not None
    url, token = match.group(1), match.group(2)
    return UIServer(url=url, base=url.split("/?token=")[0], token=token, redis_url=redis_url, process=proc, output=output)


def stop_ui(server: UIServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """Save a full-page PNG and check it is a real, non-blank image."""
    path = folder / f"ui-{name}.png"
    data = page.screenshot(path=str(path), full_page=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000, f"{path} looks empty"
    return path
