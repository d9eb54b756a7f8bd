"""Long-term memory: schemas, the write path, reflection, recall, forgetting and tools."""

from __future__ import annotations

from langmem_ext.long_term.schemas import (
    INDEX_FIELDS,
    ChangeRecord,
    EpisodicMemory,
    MemoryBase,
    ProceduralMemory,
    SemanticMemory,
    from_value,
    memory_kinds,
    memory_text,
    register_memory_kind,
    to_value,
)
from langmem_ext.long_term.dates import annotate_dates, find_relative_dates
from langmem_ext.long_term.executor import ReflectionExecutor
from langmem_ext.long_term.forgetting import (
    STATS_NAMESPACE,
    ForgetReport,
    aforget_user,
    aforget_weak,
    current_strength,
    forget_user,
    forget_weak,
    reinforce,
)
from langmem_ext.long_term.dead_letters import (
    DeadLetter,
    alist_dead_letters,
    aretry_dead_letters,
    list_dead_letters,
    retry_dead_letters,
)
from langmem_ext.long_term.curation import MAX_EPISODE_FACTS, attach_facts, curate_changes
from langmem_ext.long_term.namespaces import DEFAULT_NAMESPACES, NamespaceTemplateError, resolve_namespace
from langmem_ext.long_term.operations import Changes, plan_changes, reflection_schema
from langmem_ext.long_term.middleware import RecallMiddleware, ReflectionMiddleware
from langmem_ext.long_term.procedural import aload_rules, load_rules, render_rules, system_prompt_with_rules
from langmem_ext.long_term.recall import MEMORY_BLOCK_ID, RankWeights, RecallNode, RecallResult, rank_candidates
from langmem_ext.long_term.retrieval import (
    RecallMode,
    arecall,
    fuse_results,
    fuse_scores,
    propagate_neighbors,
    query_time_hints,
    recall,
    supports_text_search,
    time_boosts,
)
from langmem_ext.long_term.reflection import DEFAULT_REFLECTION_PROMPT, ReflectionNode, ReflectionResult
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
    "RecallMiddleware",
    "ReflectionMiddleware",
    "create_manage_memory_tool",
    "create_search_memory_tool",
    "MEMORY_BLOCK_ID",
    "STATS_NAMESPACE",
    "ForgetReport",
    "RankWeights",
    "RecallMode",
    "RecallNode",
    "RecallResult",
    "aforget_user",
    "arecall",
    "fuse_results",
    "fuse_scores",
    "propagate_neighbors",
    "query_time_hints",
    "recall",
    "supports_text_search",
    "time_boosts",
    "aforget_weak",
    "aload_rules",
    "current_strength",
    "forget_user",
    "forget_weak",
    "load_rules",
    "rank_candidates",
    "reinforce",
    "render_rules",
    "system_prompt_with_rules",
    "DEFAULT_NAMESPACES",
    "DEFAULT_REFLECTION_PROMPT",
    "MAX_EPISODE_FACTS",
    "DeadLetter",
    "alist_dead_letters",
    "aretry_dead_letters",
    "list_dead_letters",
    "retry_dead_letters",
    "attach_facts",
    "curate_changes",
    "Applied",
    "Changes",
    "ConcurrentUpdateError",
    "NamespaceTemplateError",
    "ReflectionExecutor",
    "ReflectionNode",
    "ReflectionResult",
    "aapply_changes",
    "annotate_dates",
    "apply_changes",
    "aupdate_memories",
    "find_relative_dates",
    "plan_changes",
    "reflection_schema",
    "resolve_namespace",
    "update_memories",
    "INDEX_FIELDS",
    "ChangeRecord",
    "EpisodicMemory",
    "MemoryBase",
    "ProceduralMemory",
    "SemanticMemory",
    "aput_memories",
    "from_value",
    "memory_kinds",
    "memory_text",
    "put_memories",
    "register_memory_kind",
    "to_value",
]
