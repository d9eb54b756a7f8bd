"""The store the CLI administers: our RedisStore with the default MiniLM index."""

from __future__ import annotations

from typing import Any

CLI_INDEX: dict[str, Any] = {"dims": 384, "embed": "langmem-ext:minilm", "fields": ["content"]}
"""The index the CLI opens the store with: the same one the graphs and the demo use."""


def open_store(url: str) -> Any:
    """A context manager yielding a set-up :class:`~langmem_ext.store.RedisStore` on ``url``."""
    from langmem_ext.store import RedisStore

    return RedisStore.from_conn_string(url, index=CLI_INDEX)  # type: ignore[arg-type]

