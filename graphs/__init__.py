"""Studio entry points (``langgraph.json``): each module serves a graph of :mod:`langmem_ext.graphs`."""
