"""Studio entry point for the ``chatbot`` graph (``langgraph.json``); it lives in :mod:`langmem_ext.graphs.chatbot`."""

from langmem_ext.graphs.chatbot import graph

__all__ = ["graph"]
