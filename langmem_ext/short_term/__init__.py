"""Short-term memory: trim, summarise, delete and importance-filter a chat history.

Pure functions over message lists come first; the nodes (LangGraph) and middleware
(LangChain ``create_agent``) are thin adapters over them.
"""

from __future__ import annotations

from langmem_ext.short_term.counting import MessageTokenCounter
from langmem_ext.short_term.delete import delete_messages, deletion_updates, select_deletions
from langmem_ext.short_term.extractive import extractive_summary
from langmem_ext.short_term.importance import (
    HeuristicScorer,
    ImportanceFilter,
    ImportanceOptions,
    LLMScorer,
    build_context,
    importance_filter,
)
from langmem_ext.short_term.middleware import (
    DeletionMiddleware,
    ImportanceFilterMiddleware,
    ShortTermAgentState,
    SummaryMiddleware,
    TrimMiddleware,
)
from langmem_ext.short_term.messages import SUMMARY_MESSAGE_ID, group_units, history_problems
from langmem_ext.short_term.nodes import (
    DeletionNode,
    ImportanceFilterNode,
    ShortTermState,
    SummarizationNode,
    TrimNode,
)
from langmem_ext.short_term.summarize import (
    RunningSummary,
    SummarizationError,
    Summarizer,
    SummaryOptions,
    asummarize_history,
    summarize_history,
    summarizer,
)
from langmem_ext.short_term.trim import ContextBudgetError, trim_history

__all__ = [
    "SUMMARY_MESSAGE_ID",
    "ContextBudgetError",
    "DeletionMiddleware",
    "DeletionNode",
    "HeuristicScorer",
    "ImportanceFilter",
    "ImportanceFilterMiddleware",
    "ImportanceFilterNode",
    "ImportanceOptions",
    "LLMScorer",
    "MessageTokenCounter",
    "RunningSummary",
    "ShortTermAgentState",
    "ShortTermState",
    "SummaryMiddleware",
    "SummaryOptions",
    "SummarizationError",
    "SummarizationNode",
    "Summarizer",
    "TrimMiddleware",
    "TrimNode",
    "asummarize_history",
    "build_context",
    "delete_messages",
    "deletion_updates",
    "extractive_summary",
    "group_units",
    "history_problems",
    "importance_filter",
    "select_deletions",
    "summarize_history",
    "summarizer",
    "trim_history",
]
