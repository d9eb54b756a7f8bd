"""Long-term memory: schemas, the write path, reflection, recall, forgetting and tools.

The names below are the public API; each is defined once, in the module that owns it
(``langmem_ext.long_term.<module>``), where its helpers live too.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from langmem_ext._options import warn_deprecated
from langmem_ext.long_term.dead_letters import (
    DeadLetter,
    alist_dead_letters,
    aretry_dead_letters,
    list_dead_letters,
    retry_dead_letters,
)
from langmem_ext.long_term.executor import ReflectionExecutor
from langmem_ext.long_term.forgetting import ForgetReport, aforget_user, aforget_weak, forget_user, forget_weak
from langmem_ext.long_term.middleware import RecallMiddleware, ReflectionMiddleware
from langmem_ext.long_term.namespaces import DEFAULT_NAMESPACES, NamespaceTemplateError, resolve_namespace
from langmem_ext.long_term.operations import Changes
from langmem_ext.long_term.procedural import aload_rules, load_rules, render_rules, system_prompt_with_rules
from langmem_ext.long_term.ranking import MEMORY_BLOCK_ID, RankWeights
from langmem_ext.long_term.recall import RecallNode, RecallResult
from langmem_ext.long_term.reflection import DEFAULT_REFLECTION_PROMPT, ReflectionNode, ReflectionResult
from langmem_ext.long_term.retrieval import RecallMode, arecall, recall
from langmem_ext.long_term.schemas import (
    ChangeRecord,
    EpisodicMemory,
    MemoryBase,
    ProceduralMemory,
    SemanticMemory,
    from_value,
    memory_kinds,
    register_memory_kind,
    to_value,
)
from langmem_ext.long_term.tools import create_manage_memory_tool, create_search_memory_tool
from langmem_ext.long_term.writer import (
    Applied,
    ConcurrentUpdateError,
    aapply_changes,
    apply_changes,
    aput_memories,
    aupdate_memories,
    put_memories,
    update_memories,
)

__all__ = [
    # memories
    "ChangeRecord",
    "EpisodicMemory",
    "MemoryBase",
    "ProceduralMemory",
    "SemanticMemory",
    "from_value",
    "memory_kinds",
    "register_memory_kind",
    "to_value",
    # recall
    "MEMORY_BLOCK_ID",
    "RankWeights",
    "RecallMode",
    "RecallNode",
    "RecallResult",
    "arecall",
    "recall",
    # reflection
    "DEFAULT_REFLECTION_PROMPT",
    "ReflectionExecutor",
    "ReflectionNode",
    "ReflectionResult",
    "DeadLetter",
    "alist_dead_letters",
    "aretry_dead_letters",
    "list_dead_letters",
    "retry_dead_letters",
    # create_agent
    "RecallMiddleware",
    "ReflectionMiddleware",
    "create_manage_memory_tool",
    "create_search_memory_tool",
    # the user's rules
    "aload_rules",
    "load_rules",
    "render_rules",
    "system_prompt_with_rules",
    # writing
    "Applied",
    "Changes",
    "ConcurrentUpdateError",
    "aapply_changes",
    "apply_changes",
    "aput_memories",
    "aupdate_memories",
    "put_memories",
    "update_memories",
    # forgetting
    "ForgetReport",
    "aforget_user",
    "aforget_weak",
    "forget_user",
    "forget_weak",
    # namespaces
    "DEFAULT_NAMESPACES",
    "NamespaceTemplateError",
    "resolve_namespace",
]

# Exported here before 0.2; now only from the module that owns them (one release of grace).
_MOVED: dict[str, str] = {
    "INDEX_FIELDS": "schemas",
    "memory_text": "schemas",
    "MAX_EPISODE_FACTS": "curation",
    "attach_facts": "curation",
    "curate_changes": "curation",
    "STATS_NAMESPACE": "forgetting",
    "current_strength": "forgetting",
    "reinforce": "forgetting",
    "annotate_dates": "dates",
    "find_relative_dates": "dates",
    "plan_changes": "operations",
    "reflection_schema": "operations",
    "rank_candidates": "ranking",
    "fuse_results": "retrieval",
    "fuse_scores": "retrieval",
    "propagate_neighbors": "retrieval",
    "query_time_hints": "retrieval",
    "time_boosts": "retrieval",
    "supports_text_search": "retrieval",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'langmem_ext.long_term' has no attribute {name!r}")
    warn_deprecated(f"langmem_ext.long_term.{name} is deprecated; import it from langmem_ext.long_term.{module}.")
    return getattr(import_module(f"langmem_ext.long_term.{module}"), name)
