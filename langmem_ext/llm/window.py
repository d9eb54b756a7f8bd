"""The context window of a model, so its input can be sized to it.

In order: ``LANGMEM_EXT_CONTEXT_WINDOW``; what an overflow error from the server said
(remembered per endpoint); the model's LangChain profile (``max_input_tokens``); else
:data:`DEFAULT_CONTEXT_WINDOW` (8,192 tokens, a common local-server setting).

:func:`input_budget` is what a request may put in: the window, less the output bound, less
a margin for tokenizers that count differently from ours (we count with OpenAI's).

Example:
    >>> from langmem_ext.long_term.testing import ScriptedChatModel
    >>> context_window(ScriptedChatModel(), env={})
    8192
    >>> context_window(ScriptedChatModel(), env={"LANGMEM_EXT_CONTEXT_WINDOW": "4096"})
    4096
    >>> input_budget(4096, max_tokens=512)
    2867
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from langmem_ext.llm.endpoint import endpoint_of, state_of

__all__ = ["DEFAULT_CONTEXT_WINDOW", "TOKENIZER_MARGIN", "context_window", "input_budget"]

DEFAULT_CONTEXT_WINDOW = 8192
"""Assumed window when nothing says otherwise."""
TOKENIZER_MARGIN = 0.8
"""Share of the room that is used: another model's tokenizer may count up to 25 % more tokens."""


def context_window(model: Any, *, env: Mapping[str, str] | None = None) -> int:
    """The context window of ``model`` in tokens (see the module docstring for the order)."""
    env = os.environ if env is None else env
    raw = (env.get("LANGMEM_EXT_CONTEXT_WINDOW") or "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"LANGMEM_EXT_CONTEXT_WINDOW={raw!r} is not a whole number of tokens.") from None
        if value < 256:
            raise ValueError(f"LANGMEM_EXT_CONTEXT_WINDOW={value} is too small; give the model's window (e.g. 8192).")
        return value
    if model is None:
        return DEFAULT_CONTEXT_WINDOW
    learnt = state_of(endpoint_of(model)).context_window
    if learnt:
        return learnt
    profile = getattr(model, "profile", None)
    if isinstance(profile, dict) and isinstance(profile.get("max_input_tokens"), int):
        return int(profile["max_input_tokens"])
    return DEFAULT_CONTEXT_WINDOW


def input_budget(window: int, *, max_tokens: int) -> int:
    """Tokens (counted with OpenAI's tokenizer) a request may send to a ``window``-token model."""
    return max(0, int((window - max_tokens) * TOKENIZER_MARGIN))
