"""Example graphs served by ``langgraph dev`` (see ``langgraph.json``) and used by ``examples/``."""
