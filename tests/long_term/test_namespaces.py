from __future__ import annotations

from dataclasses import dataclass

import pytest

from langmem_ext.long_term.namespaces import NamespaceTemplateError, resolve_namespace, template_keys


def test_fills_from_configurable():
    ns = resolve_namespace(("memories", "{org}-{user_id}", "semantic"), {"configurable": {"user_id": "u1", "org": "acme"}})
    assert ns == ("memories", "acme-u1", "semantic")


def test_fills_from_runtime_context():
    @dataclass
    class Ctx:
        user_id: str

    assert resolve_namespace(("m", "{user_id}"), None, context=Ctx("u9")) == ("m", "u9")
    assert resolve_namespace(("m", "{user_id}"), {}, context={"user_id": "u8"}) == ("m", "u8")


def test_missing_key_names_it_and_the_fix():
    with pytest.raises(NamespaceTemplateError) as err:
        resolve_namespace(("memories", "{user_id}"), {"configurable": {"thread_id": "t"}})
    assert "'user_id'" in str(err.value) and "configurable" in str(err.value)
    with pytest.raises(NamespaceTemplateError, match="user_id"):
        resolve_namespace(("memories", "{user_id}"), None)


def test_bad_values_and_templates():
    with pytest.raises(NamespaceTemplateError, match="'.'"):
        resolve_namespace(("m", "{user_id}"), {"configurable": {"user_id": "a.b"}})
    with pytest.raises(NamespaceTemplateError, match="invalid placeholder"):
        template_keys(("m", "{}"))
    with pytest.raises(NamespaceTemplateError, match="tuple"):
        resolve_namespace("memories", {})


def test_literal_template_needs_no_config():
    assert resolve_namespace(("global", "facts"), None) == ("global", "facts")
