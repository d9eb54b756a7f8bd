"""Studio's store index embeds with these (``langgraph.json``); they live in :mod:`langmem_ext.graphs.common`."""

from langmem_ext.graphs.common import embeddings

__all__ = ["embeddings"]
