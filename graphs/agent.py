"""Studio entry point for the ``agent`` graph (``langgraph.json``); it lives in :mod:`langmem_ext.graphs.agent`."""

from langmem_ext.graphs.agent import graph

__all__ = ["graph"]
