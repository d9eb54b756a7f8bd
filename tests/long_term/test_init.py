"""The long_term package's public surface: what is meant to be public, each name from its owner."""

from __future__ import annotations

import importlib
import inspect

import pytest

import langmem_ext.long_term as lt

PUBLIC = {
    # memories
    "ChangeRecord", "EpisodicMemory", "MemoryBase", "ProceduralMemory", "SemanticMemory", "from_value",
    "memory_kinds", "register_memory_kind", "to_value",
    # recall
    "MEMORY_BLOCK_ID", "RankWeights", "RecallMode", "RecallNode", "RecallResult", "arecall", "recall",
    # reflection
    "DEFAULT_REFLECTION_PROMPT", "ReflectionExecutor", "ReflectionNode", "ReflectionResult", "DeadLetter",
    "alist_dead_letters", "aretry_dead_letters", "list_dead_letters", "retry_dead_letters",
    # create_agent
    "RecallMiddleware", "ReflectionMiddleware", "create_manage_memory_tool", "create_search_memory_tool",
    # the user's rules
    "aload_rules", "load_rules", "render_rules", "system_prompt_with_rules",
    # writing
    "Applied", "Changes", "ConcurrentUpdateError", "aapply_changes", "apply_changes", "aput_memories",
    "aupdate_memories", "put_memories", "update_memories",
    # forgetting
    "ForgetReport", "aforget_user", "aforget_weak", "forget_user", "forget_weak",
    # namespaces
    "DEFAULT_NAMESPACES", "NamespaceTemplateError", "resolve_namespace",
}


def test_all_is_exactly_what_is_meant_to_be_public():
    assert len(lt.__all__) == len(set(lt.__all__))
    assert set(lt.__all__) == PUBLIC, "a public name was added or dropped: update PUBLIC, the docs and CHANGELOG.md"


def _owner(name: str) -> str:
    obj = getattr(lt, name)
    module = getattr(obj, "__module__", None) if (inspect.isclass(obj) or inspect.isfunction(obj)) else None
    if module is None or obj.__class__.__module__ == "typing":  # constants and aliases: whoever lists it
        listing = [m for m in _modules() if name in getattr(m, "__all__", ())]
        assert len(listing) == 1, f"{name} is exported by {[m.__name__ for m in listing]}"
        return listing[0].__name__
    return module


def _modules():
    import pkgutil

    return [importlib.import_module(f"langmem_ext.long_term.{m.name}") for m in pkgutil.iter_modules(lt.__path__)
            if not m.name.startswith("_") and m.name not in ("testing",)]


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_public_name_is_exported_once_by_its_owner(name):
    owner = importlib.import_module(_owner(name))
    assert name in owner.__all__, f"{name} is not in {owner.__name__}.__all__"
    others = [m.__name__ for m in _modules() if name in getattr(m, "__all__", ()) and m is not owner]
    assert others == [], f"{name} is exported by {owner.__name__} and again by {others}"


def test_names_that_left_the_package_still_import_with_a_warning():
    with pytest.warns(DeprecationWarning, match=r"import it from langmem_ext\.long_term\.ranking"):
        from langmem_ext.long_term import rank_candidates
    assert rank_candidates is importlib.import_module("langmem_ext.long_term.ranking").rank_candidates
    with pytest.raises(AttributeError):
        lt.no_such_name  # noqa: B018
