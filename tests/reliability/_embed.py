"""A cheap deterministic embedding for store tests: same text, same unit vector.

Word-bag hashing (not random per text) so that texts sharing words are close:
enough for ranking to mean something without loading MiniLM.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["DIMS", "hash_embed", "index_config"]

DIMS = 64


def _word_vector(word: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).standard_normal(DIMS)


def hash_embed(texts: list[str]) -> list[list[float]]:
    out = []
    for text in texts:
        vec = np.zeros(DIMS)
        for word in text.lower().split() or [""]:
            vec += _word_vector(word)
        norm = float(np.linalg.norm(vec)) or 1.0
        out.append((vec / norm).astype(np.float32).tolist())
    return out


def index_config(fields: list[str] | None = None) -> dict[str, object]:
    return {"dims": DIMS, "embed": hash_embed, "fields": fields or ["$"]}
