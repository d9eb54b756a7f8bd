"""Bearer-token files and variables for the MCP server's HTTP transport."""

from __future__ import annotations

import pytest

from langmem_ext.mcp import TOKENS_ENV, TOKENS_FILE_ENV, TokenConfigError, digest, load_tokens, parse_tokens

GOOD = "abcdefghijklmnopqrstuvwxyz0123"


def test_file_lines_comments_and_hashed_tokens(tmp_path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(f"# users\nmaya {GOOD}  # laptop\n\nomar sha256:{digest('omar-' + GOOD)}\n")
    path.chmod(0o600)
    tokens, warnings = load_tokens(path, env={})
    assert warnings == []
    assert tokens.user_for(GOOD) == "maya" and tokens.user_for("omar-" + GOOD) == "omar"
    assert tokens.user_for(GOOD + "x") is None and tokens.user_for("") is None
    assert GOOD not in repr(tokens.users)  # only digests are kept


def test_environment_variable_and_file_from_the_environment(tmp_path) -> None:
    path = tmp_path / "t.txt"
    path.write_text(f"maya {GOOD}\n")
    path.chmod(0o644)
    tokens, warnings = load_tokens(env={TOKENS_FILE_ENV: str(path), TOKENS_ENV: f"omar=omar-{GOOD}, zoe=zoe-{GOOD}"})
    assert {tokens.user_for(GOOD), tokens.user_for("omar-" + GOOD), tokens.user_for("zoe-" + GOOD)} == {"maya", "omar", "zoe"}
    assert "chmod 600" in warnings[0]  # a readable file of plain tokens is worth a warning
    assert not load_tokens(env={})[0]


@pytest.mark.parametrize(("text", "message"), [
    ("maya", "tokens.txt:1: expected 'USER_ID TOKEN'"),
    (f"maya {GOOD} extra", "expected 'USER_ID TOKEN', got 3 fields"),
    ("maya short", "use at least 24"),
    (f"a.b {GOOD}", "Bad user id"),
    ("maya sha256:1234", "64 hex digits"),
    (f"maya {GOOD}\nomar {GOOD}", "tokens.txt:2: this token already names user 'maya'"),
])
def test_bad_entries_are_named(text: str, message: str) -> None:
    with pytest.raises(TokenConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_tokens(text, source="tokens.txt")


def test_missing_or_empty_file_and_bad_variable(tmp_path) -> None:
    with pytest.raises(TokenConfigError, match="Cannot read the token file"):
        load_tokens(tmp_path / "nope.txt", env={})
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(TokenConfigError, match="names no tokens"):
        load_tokens(tmp_path / "empty.txt", env={})
    with pytest.raises(TokenConfigError, match=f"{TOKENS_ENV} entry 1: expected USER_ID=TOKEN"):
        load_tokens(env={TOKENS_ENV: GOOD})
