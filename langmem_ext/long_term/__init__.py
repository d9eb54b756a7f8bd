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
from langmem_ext.long_term.writer import aput_memories, put_memories

__all__ = [
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
