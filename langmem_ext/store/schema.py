"""Index configuration and versioned migrations of the store's RediSearch index.

``setup()`` applies :data:`MIGRATIONS` in order; the number applied is kept in
Redis (``P:meta`` field ``version``), so setup is idempotent and a newer release
only runs the steps an existing deployment lacks. The vector and text
attributes depend on the store's ``index`` config and are added by
:func:`vector_commands` (``FT.ALTER``) when first needed; numeric filter
attributes are added per value path by :func:`numeric_command`.

Example:
    >>> cfg = normalize_index({"dims": 4, "embed": lambda texts: [[1.0] * 4 for _ in texts]})
    >>> cfg["mode"], cfg["algorithm"], cfg["fields"]
    ('vector', 'hnsw', ['$'])
    >>> base_commands("lmx")[0][:3]
    ('FT.CREATE', 'lmx:idx', 'ON')
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.store.base import IndexConfig, TTLConfig

from langmem_ext.store._keys import numeric_field

__all__ = [
    "MIGRATIONS",
    "IncompatibleIndexError",
    "RedisIndexConfig",
    "SearchMode",
    "base_commands",
    "index_name",
    "normalize_index",
    "normalize_ttl",
    "numeric_command",
    "vector_commands",
]

SearchMode = Literal["vector", "text", "hybrid"]


class IncompatibleIndexError(RuntimeError):
    """The index found in Redis cannot serve this store's configuration."""


class RedisIndexConfig(IndexConfig, total=False):
    """LangGraph's ``IndexConfig`` plus the Redis-specific knobs."""

    mode: SearchMode
    """Default ranking of ``search(query=...)``: ``"vector"`` (cosine KNN, InMemoryStore's
    scores; the default), ``"text"`` (BM25 over the indexed fields) or ``"hybrid"``
    (reciprocal rank fusion of both, fetched in one pipelined round trip)."""
    algorithm: Literal["hnsw", "flat"]
    """Vector index type; HNSW (approximate, fast at scale) by default."""
    m: int
    """HNSW graph degree (``M``); default 16."""
    ef_construction: int
    """HNSW ``EF_CONSTRUCTION``; default 100 (the trade-off against insert speed: docs/store.md)."""
    ef_runtime: int
    """HNSW ``EF_RUNTIME`` (candidate list size at query time); default 50. Sent with every query,
    so an existing index follows the store's config. Recall at each setting: docs/store.md."""
    rrf_k: int
    """The ``k`` constant of reciprocal rank fusion; default 60."""


_DEFAULTS: dict[str, Any] = {
    "mode": "vector",
    "algorithm": "hnsw",
    "m": 16,
    "ef_construction": 100,
    "ef_runtime": 50,
    "rrf_k": 60,
}


def normalize_index(index: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validate an index config early and fill the defaults (the input is not mutated).

    Raises:
        ValueError: naming the bad key and the fix.
    """
    if not index:
        return None
    if not isinstance(index, dict):
        raise ValueError(f"index must be a dict like {{'dims': 384, 'embed': ...}}, got {type(index).__name__}.")
    dims = index.get("dims")
    if not isinstance(dims, int) or isinstance(dims, bool) or dims <= 0:
        raise ValueError(f"index['dims'] must be a positive int (the embedding size), got {dims!r}.")
    if index.get("embed") is None:
        raise ValueError("index['embed'] is required: an Embeddings, a callable, or a 'provider:model' string.")
    cfg = {**_DEFAULTS, **index}
    cfg["fields"] = list(index.get("fields") or ["$"])
    if cfg["mode"] not in ("vector", "text", "hybrid"):
        raise ValueError(f"index['mode'] must be 'vector', 'text' or 'hybrid', got {cfg['mode']!r}.")
    if cfg["algorithm"] not in ("hnsw", "flat"):
        raise ValueError(f"index['algorithm'] must be 'hnsw' or 'flat', got {cfg['algorithm']!r}.")
    for knob in ("m", "ef_construction", "ef_runtime", "rrf_k"):
        if not isinstance(cfg[knob], int) or cfg[knob] <= 0:
            raise ValueError(f"index[{knob!r}] must be a positive int, got {cfg[knob]!r}.")
    return cfg


def normalize_ttl(ttl: TTLConfig | None) -> TTLConfig | None:
    """Validate a TTL config (minutes) early."""
    if ttl is None:
        return None
    if not isinstance(ttl, dict):
        raise ValueError(f"ttl must be a dict like {{'default_ttl': 60}}, got {type(ttl).__name__}.")
    default = ttl.get("default_ttl")
    if default is not None and (not isinstance(default, (int, float)) or default <= 0):
        raise ValueError(f"ttl['default_ttl'] must be positive minutes or None, got {default!r}.")
    return dict(ttl)  # type: ignore[return-value]


def index_name(prefix: str) -> str:
    """The RediSearch index of the store with key prefix ``prefix``."""
    return f"{prefix}:idx"


def base_commands(prefix: str) -> list[tuple[Any, ...]]:
    """Migration 0: the index over item hashes (and their extra-vector children)."""
    return [
        (
            "FT.CREATE", index_name(prefix), "ON", "HASH", "PREFIX", "1", f"{prefix}:i:",
            "STOPWORDS", "0",
            "SCHEMA",
            "p", "TAG",  # namespace-prefix tokens
            "f", "TAG",  # value equality tokens
            "r", "TAG",  # "1" on items (absent on extra-vector children)
            "e", "TAG",  # "1" if the item has a vector, "0" if not
            "u", "NUMERIC", "SORTABLE",  # updated_at, microseconds
        )
    ]


#: Index ``i`` upgrades a store at version ``i`` to ``i + 1``.
MIGRATIONS = [base_commands]


def vector_commands(prefix: str, cfg: dict[str, Any], attributes: set[str]) -> list[tuple[Any, ...]]:
    """``FT.ALTER`` commands adding the text and vector attributes this config needs."""
    out: list[tuple[Any, ...]] = []
    name = index_name(prefix)
    if "t" not in attributes:
        out.append(("FT.ALTER", name, "SCHEMA", "ADD", "t", "TEXT"))
    if "vec" not in attributes:
        if cfg["algorithm"] == "hnsw":
            params = ["TYPE", "FLOAT32", "DIM", str(cfg["dims"]), "DISTANCE_METRIC", "COSINE",
                      "M", str(cfg["m"]), "EF_CONSTRUCTION", str(cfg["ef_construction"]),
                      "EF_RUNTIME", str(cfg["ef_runtime"])]
            out.append(("FT.ALTER", name, "SCHEMA", "ADD", "vec", "VECTOR", "HNSW", str(len(params)), *params))
        else:
            params = ["TYPE", "FLOAT32", "DIM", str(cfg["dims"]), "DISTANCE_METRIC", "COSINE"]
            out.append(("FT.ALTER", name, "SCHEMA", "ADD", "vec", "VECTOR", "FLAT", str(len(params)), *params))
    return out


def numeric_command(prefix: str, path: tuple[str, ...]) -> tuple[Any, ...]:
    """``FT.ALTER`` adding the NUMERIC attribute for numbers at value ``path``."""
    return ("FT.ALTER", index_name(prefix), "SCHEMA", "ADD", numeric_field(path), "NUMERIC")
