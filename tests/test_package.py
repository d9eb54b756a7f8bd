"""The package's public surface: each top-level name resolves to its owner's object."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import langmem_ext


@pytest.mark.parametrize("name", sorted(set(langmem_ext._EXPORTS)))
def test_reexport_is_the_owners_object(name: str) -> None:
    owner = importlib.import_module(langmem_ext._EXPORTS[name])
    assert name in owner.__all__, f"{name} is not in {owner.__name__}.__all__"
    assert getattr(langmem_ext, name) is getattr(owner, name)


def test_all_lists_every_export() -> None:
    assert set(langmem_ext.__all__) == {*langmem_ext._EXPORTS, "__version__"}


def test_unknown_attribute_raises() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        langmem_ext.no_such_name  # noqa: B018


def test_import_is_lazy() -> None:
    code = "import sys, langmem_ext; print('langmem_ext.store' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_version_matches_distribution() -> None:
    from importlib.metadata import version

    assert langmem_ext.__version__ == version("langmem-ext")
