"""Bearer tokens for the MCP server's HTTP transport: each token names one user.

Tokens come from a file (``--tokens FILE`` or ``$LANGMEM_EXT_MCP_TOKENS_FILE``) and/or the
environment (``$LANGMEM_EXT_MCP_TOKENS``). The file holds one ``USER_ID TOKEN`` pair per
line; ``#`` starts a comment. A token may be written as ``sha256:<64 hex digits>`` (the
SHA-256 of the token) so the file never holds the secret itself. The variable holds
``USER_ID=TOKEN`` pairs separated by commas. A plain token must be at least
``MIN_TOKEN_CHARS`` characters; make one with
``python -c "import secrets; print(secrets.token_urlsafe(32))"``.

Tokens are compared by their SHA-256 digest in constant time, so neither the lookup's
timing nor a memory dump of the map reveals a token.

Example:
    >>> tokens = parse_tokens("maya  s3cret-token-for-maya-1234\\n# a comment\\nomar sha256:" + digest("omar-token-5678-abcdefgh"),
    ...                       source="tokens.txt")
    >>> tokens.user_for("s3cret-token-for-maya-1234"), tokens.user_for("omar-token-5678-abcdefgh"), tokens.user_for("nope")
    ('maya', 'omar', None)
    >>> parse_tokens("maya short", source="tokens.txt")
    Traceback (most recent call last):
    ...
    langmem_ext.mcp._tokens.TokenConfigError: tokens.txt:1: the token of 'maya' is 5 characters; use at least 24 ...
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from langmem_ext.service._scope import check_user
from langmem_ext.service.errors import InvalidRequestError

__all__ = [
    "MIN_TOKEN_CHARS",
    "TOKENS_ENV",
    "TOKENS_FILE_ENV",
    "TokenConfigError",
    "TokenMap",
    "digest",
    "load_tokens",
    "parse_tokens",
]

MIN_TOKEN_CHARS = 24
TOKENS_ENV = "LANGMEM_EXT_MCP_TOKENS"
TOKENS_FILE_ENV = "LANGMEM_EXT_MCP_TOKENS_FILE"


class TokenConfigError(ValueError):
    """A token file or variable that cannot be used; the message names the line and the fix."""


def digest(token: str) -> str:
    """The hex SHA-256 of a token (what a ``sha256:`` entry holds)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class TokenMap:
    """Token digests and the user each one names."""

    users: dict[str, str] = field(default_factory=dict)
    """SHA-256 hex digest of a token -> user id."""

    def __bool__(self) -> bool:
        return bool(self.users)

    def user_for(self, token: str) -> str | None:
        """The user a presented token names, or None (compared in constant time)."""
        presented = digest(token)
        found = None
        for known, user in self.users.items():
            if hmac.compare_digest(known, presented):
                found = user
        return found

    def add(self, user: str, token: str, *, where: str) -> None:
        try:
            user = check_user(user)
        except InvalidRequestError as exc:
            raise TokenConfigError(f"{where}: {exc}") from exc
        if token.startswith("sha256:"):
            hexd = token[len("sha256:"):].lower()
            if len(hexd) != 64 or any(c not in "0123456789abcdef" for c in hexd):
                raise TokenConfigError(f"{where}: 'sha256:' must be followed by the 64 hex digits of the token's SHA-256.")
        else:
            if len(token) < MIN_TOKEN_CHARS:
                raise TokenConfigError(
                    f"{where}: the token of {user!r} is {len(token)} characters; use at least {MIN_TOKEN_CHARS} "
                    "(e.g. python -c \"import secrets; print(secrets.token_urlsafe(32))\")."
                )
            hexd = digest(token)
        if hexd in self.users and self.users[hexd] != user:
            raise TokenConfigError(f"{where}: this token already names user {self.users[hexd]!r}; one token, one user.")
        self.users[hexd] = user


def parse_tokens(text: str, *, source: str, tokens: TokenMap | None = None) -> TokenMap:
    """Tokens from a token file's text (``USER_ID TOKEN`` per line)."""
    tokens = tokens if tokens is not None else TokenMap()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise TokenConfigError(f"{source}:{number}: expected 'USER_ID TOKEN', got {len(parts)} fields.")
        tokens.add(parts[0], parts[1], where=f"{source}:{number}")
    return tokens


def _parse_env(value: str, tokens: TokenMap) -> None:
    for i, pair in enumerate(p.strip() for p in value.split(",")):
        if not pair:
            continue
        user, sep, token = pair.partition("=")
        if not sep:
            raise TokenConfigError(f"{TOKENS_ENV} entry {i + 1}: expected USER_ID=TOKEN.")
        tokens.add(user.strip(), token.strip(), where=f"{TOKENS_ENV} entry {i + 1}")


def load_tokens(path: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> tuple[TokenMap, list[str]]:
    """Tokens from ``path`` (else ``$LANGMEM_EXT_MCP_TOKENS_FILE``) and ``$LANGMEM_EXT_MCP_TOKENS``.

    Returns:
        The map, and warnings to show (e.g. a token file others can read).

    Raises:
        TokenConfigError: a missing or unreadable file, or a bad entry (named).
    """
    env = os.environ if env is None else env
    tokens, warnings = TokenMap(), []
    path = path or env.get(TOKENS_FILE_ENV) or None
    if path is not None:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenConfigError(f"Cannot read the token file {file}: {exc}.") from exc
        mode = file.stat().st_mode
        if mode & (stat.S_IRGRP | stat.S_IROTH) and "sha256:" not in text:
            warnings.append(f"the token file {file} is readable by other users: `chmod 600 {file}`.")
        parse_tokens(text, source=str(file), tokens=tokens)
        if not tokens:
            raise TokenConfigError(f"The token file {file} names no tokens: add 'USER_ID TOKEN' lines.")
    if env.get(TOKENS_ENV):
        _parse_env(env[TOKENS_ENV], tokens)
    return tokens, warnings
