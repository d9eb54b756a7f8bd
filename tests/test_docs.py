"""Every ```python block in README.md and docs/*.md runs, in order, one process per file.

A block that cannot run here is opted out by the line directly above its fence:
``<!-- docs-test: skip REASON -->`` (the reason is required and shown in the test id).
Blocks run against the session's Redis (``REDIS_URL``) with no chat model configured.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"(?P<before>[^\n]*)\n```python[^\n]*\n(?P<code>.*?)\n```", re.S)
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s+(?P<reason>\S.*?)\s*-->")
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """(line, code, skip reason) of each ```python block."""
    blocks = []
    for match in FENCE.finditer("\n" + text):
        line = text[: max(match.start("code") - 1, 0)].count("\n") + 1
        skip = SKIP.search(match["before"])
        blocks.append((line, match["code"], skip["reason"] if skip else None))
    return blocks


def test_block_extraction_and_opt_out() -> None:
    text = "x\n```python\na = 1\n```\n<!-- docs-test: skip needs an API key -->\n```python\nb = 2\n```\n"
    assert python_blocks(text) == [(3, "a = 1", None), (7, "b = 2", "needs an API key")]
    assert python_blocks("<!-- docs-test: skip -->\n```python\nc\n```") == [(3, "c", None)]  # no reason, no skip


def test_there_are_snippets_to_run() -> None:
    assert sum(1 for page in PAGES for _, _, skip in python_blocks(page.read_text()) if skip is None) >= 3


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_snippets_run(page: Path, redis_url: str, tmp_path: Path) -> None:
    blocks = [(line, code) for line, code, skip in python_blocks(page.read_text()) if skip is None]
    if not blocks:
        return
    script = "\n".join(
        f"# --- {page.name}:{line}\n__docs_line__ = {line}\n" + textwrap.dedent(code) for line, code in blocks
    )
    # the docs use no deprecated name of ours (as the suite's own filterwarnings)
    strict = "import warnings\nimport langmem_ext\nwarnings.simplefilter('error', langmem_ext.LangmemExtDeprecationWarning)\n"
    (tmp_path / "snippets.py").write_text(strict + script)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LANGMEM_EXT_"))}
    env.update(REDIS_URL=redis_url, LANGMEM_EXT_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, str(tmp_path / "snippets.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{page.name}: a snippet failed\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
