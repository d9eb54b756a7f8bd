"""Prompt constants shared by the memory nodes; each is an overridable default.

Placeholders are filled with ``str.format``; keep them when you override a prompt.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_SUMMARY_PROMPT",
    "SUMMARY_MESSAGE_PREFIX",
    "DEFAULT_IMPORTANCE_PROMPT",
]

DEFAULT_SUMMARY_PROMPT = """Running summary of a conversation so far:
{existing_summary}

New messages:
{messages}

Rewrite the summary to include the new messages. Keep facts about the user (names, \
preferences, plans, dates, numbers), decisions, still-needed tool results and open tasks; \
drop small talk. At most {max_words} words. Reply with the summary only."""
"""Summarisation prompt: ``{existing_summary}``, ``{messages}`` and ``{max_words}``."""

SUMMARY_MESSAGE_PREFIX = "Summary of the earlier conversation:\n"
"""Text that introduces the running summary when it reaches the model."""

DEFAULT_IMPORTANCE_PROMPT = """Rate how important each message below is to remember for the rest of a \
conversation with this user, from 1 (small talk, nothing to keep) to 10 (a fact, preference, \
commitment, name, date or number the assistant must not forget, or an answer to an open question).

{messages}

Give one score per message index."""
"""Importance-scoring prompt: ``{messages}`` are numbered ``[index] role: text`` lines."""
