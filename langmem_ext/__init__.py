"""langmem-ext: memory for LangGraph agents.

Short-term nodes (trim, summarise, delete, importance filter), long-term
reflection and recall, and Redis backends (checkpointer and store).

The main entry points are re-exported here and imported lazily, so that
``import langmem_ext`` stays cheap; each is defined once, in the package
that owns it.

Example:
    >>> import langmem_ext
    >>> langmem_ext.RedisSaver is __import__("langmem_ext.checkpoint").checkpoint.RedisSaver
    True
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> owning module
_EXPORTS: dict[str, str] = {
    # backends
    "RedisSaver": "langmem_ext.checkpoint",
    "AsyncRedisSaver": "langmem_ext.checkpoint",
    "RedisStore": "langmem_ext.store",
    "AsyncRedisStore": "langmem_ext.store",
    "EmbeddedRedis": "langmem_ext.server",
    "redis_url": "langmem_ext.server",
    "MiniLMEmbeddings": "langmem_ext.embeddings",
    "Limits": "langmem_ext.limits",
    "LimitExceededError": "langmem_ext.limits",
    "LangmemExtDeprecationWarning": "langmem_ext._options",
    # the node contract
    "model_input": "langmem_ext.contract",
    "MemoryState": "langmem_ext.contract",
    # short-term memory
    "TrimNode": "langmem_ext.short_term",
    "SummarizationNode": "langmem_ext.short_term",
    "DeletionNode": "langmem_ext.short_term",
    "ImportanceFilterNode": "langmem_ext.short_term",
    "trim_history": "langmem_ext.short_term",
    "summarize_history": "langmem_ext.short_term",
    "build_context": "langmem_ext.short_term",
    # long-term memory
    "SemanticMemory": "langmem_ext.long_term",
    "EpisodicMemory": "langmem_ext.long_term",
    "ProceduralMemory": "langmem_ext.long_term",
    "ReflectionNode": "langmem_ext.long_term",
    "RecallNode": "langmem_ext.long_term",
    "RecallMiddleware": "langmem_ext.long_term",
    "ReflectionMiddleware": "langmem_ext.long_term",
    "forget_user": "langmem_ext.long_term",
    "create_manage_memory_tool": "langmem_ext.long_term",
    "create_search_memory_tool": "langmem_ext.long_term",
    "system_prompt_with_rules": "langmem_ext.long_term",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from langmem_ext.checkpoint import AsyncRedisSaver, RedisSaver
    from langmem_ext.contract import MemoryState, model_input
    from langmem_ext.embeddings import MiniLMEmbeddings
    from langmem_ext._options import LangmemExtDeprecationWarning
    from langmem_ext.limits import LimitExceededError, Limits
    from langmem_ext.long_term import (
        EpisodicMemory,
        ProceduralMemory,
        RecallMiddleware,
        RecallNode,
        ReflectionMiddleware,
        ReflectionNode,
        SemanticMemory,
        create_manage_memory_tool,
        create_search_memory_tool,
        forget_user,
        system_prompt_with_rules,
    )
    from langmem_ext.server import EmbeddedRedis, redis_url
    from langmem_ext.short_term import (
        DeletionNode,
        ImportanceFilterNode,
        SummarizationNode,
        TrimNode,
        build_context,
        summarize_history,
        trim_history,
    )
    from langmem_ext.store import AsyncRedisStore, RedisStore


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'langmem_ext' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
