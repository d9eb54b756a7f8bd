from __future__ import annotations

import langmem_ext.long_term as lt


def test_all_names_resolve_and_are_unique():
    assert len(lt.__all__) == len(set(lt.__all__))
    for name in lt.__all__:
        assert getattr(lt, name) is not None


def test_main_entry_points_exported():
    for name in ("SemanticMemory", "EpisodicMemory", "ProceduralMemory", "ReflectionNode", "RecallNode",
                 "forget_user", "create_manage_memory_tool", "create_search_memory_tool", "render_rules",
                 "put_memories", "aput_memories", "ReflectionExecutor"):
        assert name in lt.__all__
