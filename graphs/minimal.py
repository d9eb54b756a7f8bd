"""Studio entry point for the ``minimal`` graph (``langgraph.json``); it lives in :mod:`langmem_ext.graphs.minimal`."""

from langmem_ext.graphs.minimal import graph

__all__ = ["graph"]
