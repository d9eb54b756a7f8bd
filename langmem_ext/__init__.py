"""langmem-ext: memory for LangGraph agents.

Short-term nodes (trim, summarise, delete, importance filter), long-term
reflection and recall, and Redis backends (checkpointer and store).
"""

from __future__ import annotations

from langmem_ext.server import EmbeddedRedis, redis_url

__all__ = ["EmbeddedRedis", "redis_url", "__version__"]

__version__ = "0.1.0"
