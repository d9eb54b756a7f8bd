"""Embeddings: the offline MiniLM-L6-v2 default and a resolver for ``embed=`` options.

>>> from langmem_ext.embeddings import resolve_embeddings
>>> resolve_embeddings("langmem-ext:minilm").dims
384
"""

from __future__ import annotations

from langmem_ext.embeddings._minilm import (
    ENV_MODEL_DIR,
    MINILM_DIMS,
    MINILM_SHA256,
    WEIGHTS_PACKAGE,
    EmbeddingModelNotFoundError,
    EmbeddingWeightsMismatchError,
    MiniLMEmbeddings,
    find_minilm_dir,
    verify_minilm_dir,
)
from langmem_ext.embeddings._resolve import MINILM_SPEC, EmbeddingsSpec, resolve_embeddings

__all__ = [
    "ENV_MODEL_DIR",
    "MINILM_DIMS",
    "MINILM_SHA256",
    "MINILM_SPEC",
    "WEIGHTS_PACKAGE",
    "EmbeddingModelNotFoundError",
    "EmbeddingWeightsMismatchError",
    "EmbeddingsSpec",
    "MiniLMEmbeddings",
    "find_minilm_dir",
    "resolve_embeddings",
    "verify_minilm_dir",
]
