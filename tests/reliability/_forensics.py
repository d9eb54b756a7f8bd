"""Look for a secret everywhere Redis keeps it: key names, DUMP payloads, the AOF.

DUMP output is compressed with LZF when ``rdbcompression`` is on, which could hide
a needle; :func:`traces` switches compression off while it looks.
"""

from __future__ import annotations

from pathlib import Path

import redis

__all__ = ["traces", "aof_traces"]


def traces(client: redis.Redis, needle: bytes) -> list[str]:
    """Keys whose name or serialised value contains ``needle`` (every db 0 key)."""
    old = client.config_get("rdbcompression")["rdbcompression"]
    client.config_set("rdbcompression", "no")
    try:
        found = []
        for key in client.scan_iter(count=1000):
            payload = client.dump(key) or b""
            if needle in key or needle in payload:
                found.append(key.decode(errors="replace"))
        return found
    finally:
        client.config_set("rdbcompression", old)


def aof_traces(data_dir: Path, needle: bytes) -> list[str]:
    """AOF files under ``data_dir`` that contain ``needle``."""
    return [str(p) for p in Path(data_dir).rglob("*") if p.is_file() and needle in p.read_bytes()]
