"""Prompt constants shared by the memory nodes; each is an overridable default.

Placeholders are filled with ``str.format``; keep them when you override a prompt.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_SUMMARY_PROMPT",
    "SUMMARY_MESSAGE_PREFIX",
    "DEFAULT_IMPORTANCE_PROMPT",
]

DEFAULT_SUMMARY_PROMPT = """You maintain the running summary of a conversation between a user and an AI assistant.

Current summary (empty at the start):
<summary>
{existing_summary}
</summary>

Messages that are leaving the conversation window:
<messages>
{messages}
</messages>

Write the updated summary: merge the new messages into the current summary. Keep facts about the \
user (names, preferences, plans, dates, numbers), decisions and their reasons, tool results that \
are still needed, and open questions or promised next steps. Drop small talk. Do not mention that \
this is a summary. At most {max_words} words. Reply with the summary text only."""
"""Summarisation prompt: ``{existing_summary}``, ``{messages}`` and ``{max_words}``."""

SUMMARY_MESSAGE_PREFIX = "Summary of the earlier conversation:\n"
"""Text that introduces the running summary when it reaches the model."""

DEFAULT_IMPORTANCE_PROMPT = """Rate how important each message below is to remember for the rest of a \
conversation with this user, from 1 (small talk, nothing to keep) to 10 (a fact, preference, \
commitment, name, date or number the assistant must not forget, or an answer to an open question).

{messages}

Give one score per message index."""
"""Importance-scoring prompt: ``{messages}`` are numbered ``[index] role: text`` lines."""
