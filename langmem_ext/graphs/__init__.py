"""The example graphs, shipped with the package: ``chatbot``, ``agent`` and ``minimal``.

``langmem-ext demo`` runs :mod:`langmem_ext.graphs.chatbot`; ``langgraph dev`` (Studio)
serves all three through the checkout's top-level ``graphs/`` entry points (see
``langgraph.json``); ``examples/`` builds on them. Import a submodule to use one: each
compiles its ``graph`` at import.
"""
