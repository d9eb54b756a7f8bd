"""What the MCP server checks before it starts: users, tokens and the bind address."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from langmem_ext.mcp import McpConfigError, TokenMap, http_plan, resolve_user


def _tokens() -> TokenMap:
    tokens = TokenMap()
    tokens.add("maya", "t" * 30, where="test")
    return tokens


def test_http_plans() -> None:
    assert http_plan("127.0.0.1", tokens=TokenMap(), user="maya").user == "maya"
    assert http_plan("::1", tokens=TokenMap(), user="maya").verifier is None
    with_tokens = http_plan("0.0.0.0", tokens=_tokens(), user=None)
    assert with_tokens.user is None and with_tokens.verifier is not None
    with pytest.raises(McpConfigError, match="without bearer tokens"):
        http_plan("0.0.0.0", tokens=TokenMap(), user="maya")
    with pytest.raises(McpConfigError, match="without bearer tokens"):
        http_plan("192.168.1.20", tokens=TokenMap(), user=None)
    with pytest.raises(McpConfigError, match="No user"):
        http_plan("127.0.0.1", tokens=TokenMap(), user=None)
    with pytest.raises(McpConfigError, match="Both bearer tokens and a single user"):
        http_plan("127.0.0.1", tokens=_tokens(), user="maya")


def test_user_from_option_or_environment() -> None:
    assert resolve_user("maya", env={}) == "maya"
    assert resolve_user(None, env={"LANGMEM_EXT_USER": "omar"}) == "omar"
    assert resolve_user(None, env={}) is None
    with pytest.raises(McpConfigError, match="LANGMEM_EXT_USER"):
        resolve_user(None, env={"LANGMEM_EXT_USER": "a/b"})


async def test_token_verifier_names_the_user() -> None:
    plan = http_plan("127.0.0.1", tokens=_tokens(), user=None)
    token = await plan.verifier.verify_token("t" * 30)
    assert (token.subject, token.client_id, token.token) == ("maya", "maya", "")  # the secret is not kept
    assert await plan.verifier.verify_token("t" * 31) is None


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "langmem_ext.cli", "mcp", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env}, stdin=subprocess.DEVNULL)


def test_a_non_loopback_bind_without_tokens_is_refused_at_start(redis_url: str) -> None:
    env = {"LANGMEM_EXT_MCP_TOKENS": "", "LANGMEM_EXT_MCP_TOKENS_FILE": "", "LANGMEM_EXT_USER": "maya"}
    refused = _cli("--transport", "http", "--host", "0.0.0.0", "--port", "0", "--redis-url", redis_url, env=env)
    assert refused.returncode == 2 and "Refusing to serve on 0.0.0.0 without bearer tokens" in refused.stderr
    assert "Traceback" not in refused.stderr and "MCP server on" not in refused.stderr
    no_user = _cli("--redis-url", redis_url, env={**env, "LANGMEM_EXT_USER": ""})
    assert no_user.returncode == 2 and "--user" in no_user.stderr and "Traceback" not in no_user.stderr
    bad_file = _cli("--transport", "http", "--tokens", "/nonexistent/tokens.txt", "--redis-url", redis_url, env=env)
    assert bad_file.returncode == 2 and "Cannot read the token file" in bad_file.stderr
