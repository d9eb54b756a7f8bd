"""The memory browser: see and correct what the agent remembers (``langmem-ext ui``).

A small server-rendered Starlette app (the optional ``ui`` extra): users and their
memories, search with each score split into its parts, threads from the checkpointer
with the model input the agent saw, and edit / pin / delete / forget / export, all
through the memory service. Loopback only by default, behind a per-run access token,
with CSRF tokens on every write. See docs/ui.md.
"""

from __future__ import annotations

from langmem_ext.ui.app import create_app

__all__ = ["create_app"]
