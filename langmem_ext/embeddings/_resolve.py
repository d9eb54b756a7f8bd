"""Turn whatever a user passes as ``embed=`` into a LangChain ``Embeddings``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Union

from langchain_core.embeddings import Embeddings

__all__ = ["MINILM_SPEC", "EmbeddingsSpec", "resolve_embeddings"]

MINILM_SPEC = "langmem-ext:minilm"
"""The name stores accept for the offline default model (:class:`MiniLMEmbeddings`)."""

EmbeddingsSpec = Union[
    Embeddings,
    Callable[[Sequence[str]], list[list[float]]],
    Callable[[Sequence[str]], Awaitable[list[list[float]]]],
    str,
]
"""An ``Embeddings``, a (sync or async) function of texts, or a ``"provider:model"`` name."""


def resolve_embeddings(spec: EmbeddingsSpec) -> Embeddings:
    """A LangChain ``Embeddings`` for ``spec``.

    Args:
        spec: An ``Embeddings`` (returned as is); ``"langmem-ext:minilm"`` (the offline
            MiniLM-L6-v2, shared per process); a function ``texts -> vectors`` (sync or
            async); or any ``"provider:model"`` name understood by LangChain's
            ``init_embeddings`` (e.g. ``"openai:text-embedding-3-small"``).

    Raises:
        TypeError: ``spec`` is none of these.
        ValueError: A string that is not ``"provider:model"``.
        EmbeddingModelNotFoundError: ``"langmem-ext:minilm"`` without the weights installed.

    Example:
        >>> resolve_embeddings("langmem-ext:minilm")
        MiniLMEmbeddings(...)
        >>> resolve_embeddings(lambda texts: [[1.0, 0.0] for _ in texts]).embed_query("hi")
        [1.0, 0.0]
    """
    if isinstance(spec, Embeddings):
        return spec
    if isinstance(spec, str):
        if spec.strip().lower() == MINILM_SPEC:
            from langmem_ext.embeddings._minilm import MiniLMEmbeddings

            return MiniLMEmbeddings()
        if ":" not in spec:
            raise ValueError(
                f"embeddings name {spec!r} is not 'provider:model': use {MINILM_SPEC!r} for the "
                "offline default, or e.g. 'openai:text-embedding-3-small'"
            )
        try:
            from langchain.embeddings import init_embeddings
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"embeddings name {spec!r} needs the `langchain` package (pip install langchain) "
                f"and the provider's integration, or use {MINILM_SPEC!r}"
            ) from exc
        return init_embeddings(spec)
    if callable(spec):
        from langgraph.store.base.embed import ensure_embeddings

        return ensure_embeddings(spec)
    raise TypeError(
        f"cannot use {type(spec).__name__} as embeddings: pass a LangChain Embeddings, a "
        f"function texts -> vectors, {MINILM_SPEC!r}, or a 'provider:model' name"
    )
