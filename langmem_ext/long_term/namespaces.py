"""Namespace templates filled from the run config.

A template is a tuple of labels; ``{name}`` placeholders are filled from
``config["configurable"]`` (and from the runtime ``context`` when given).

Example:
    >>> resolve_namespace(("memories", "{user_id}", "semantic"), {"configurable": {"user_id": "u1"}})
    ('memories', 'u1', 'semantic')
    >>> resolve_namespace(("memories", "{user_id}"), {"configurable": {}})
    Traceback (most recent call last):
    ...
    langmem_ext.long_term.namespaces.NamespaceTemplateError: Namespace template ('memories', '{user_id}') needs 'user_id', ...
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "NamespaceTemplateError",
    "DEFAULT_NAMESPACES",
    "resolve_namespace",
    "template_keys",
    "config_values",
    "unfilled_placeholders",
]

DEFAULT_NAMESPACES: dict[str, tuple[str, ...]] = {
    "semantic": ("memories", "{user_id}", "semantic"),
    "episodic": ("memories", "{user_id}", "episodic"),
    "procedural": ("memories", "{user_id}", "procedural"),
}
"""Where each memory kind lives by default; ``("memories", "{user_id}")`` is the user's prefix."""

_FORMATTER = string.Formatter()
_PLACEHOLDERS: set[str] = {"user_id"}  # names seen in templates (DEFAULT_NAMESPACES's, then any parsed)


class NamespaceTemplateError(KeyError):
    """A namespace template could not be filled from the config."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def template_keys(template: Sequence[str]) -> list[str]:
    """The placeholder names used in a template, in order of first use."""
    keys: list[str] = []
    for label in template:
        for _, field, _, _ in _FORMATTER.parse(label):
            if field is not None:
                if not field or not field.isidentifier():
                    raise NamespaceTemplateError(
                        f"Namespace template label {label!r} has an invalid placeholder {{{field}}}; use names like {{user_id}}."
                    )
                if field not in keys:
                    keys.append(field)
    _PLACEHOLDERS.update(keys)
    return keys


def unfilled_placeholders(label: str) -> list[str]:
    """Template placeholders left unfilled in a concrete label, e.g. ``"{user_id}"``.

    Only names used by a namespace template (``user_id`` and any name a template
    parsed in this process uses) count, so braces inside a real id are not mistaken
    for a template.

    Example:
        >>> unfilled_placeholders("{user_id}")
        ['user_id']
        >>> unfilled_placeholders("we{ird}|id")
        []
    """
    found = []
    for part in label.split("{")[1:]:
        name, close, _ = part.partition("}")
        if close and name in _PLACEHOLDERS and name not in found:
            found.append(name)
    return found


def config_values(config: Mapping[str, Any] | None, context: Any = None) -> dict[str, Any]:
    """Values available to templates: the runtime context's fields, then ``configurable``."""
    values: dict[str, Any] = {}
    if context is not None:
        if isinstance(context, Mapping):
            values.update(context)
        elif dataclasses.is_dataclass(context) and not isinstance(context, type):
            values.update(dataclasses.asdict(context))
        elif hasattr(context, "model_dump"):
            values.update(context.model_dump())
    if config:
        values.update((config.get("configurable") or {}))
    return values


def resolve_namespace(
    template: Sequence[str], config: Mapping[str, Any] | None = None, *, context: Any = None
) -> tuple[str, ...]:
    """Fill a namespace template from the run config (and runtime context).

    Args:
        template: Labels such as ``("memories", "{user_id}", "semantic")``.
        config: The ``RunnableConfig`` the node received.
        context: Optional runtime context (dict, dataclass or pydantic model).

    Returns:
        The concrete namespace.

    Raises:
        NamespaceTemplateError: A placeholder has no value (the message names the
            key and how to pass it), or a value is empty or contains '.'.
    """
    if isinstance(template, str):
        raise NamespaceTemplateError(f"Namespace template must be a tuple of labels, not the string {template!r}.")
    keys = template_keys(template)
    values = config_values(config, context) if keys else {}
    missing = [k for k in keys if values.get(k) in (None, "")]
    if missing:
        raise NamespaceTemplateError(
            f"Namespace template {tuple(template)!r} needs {missing[0]!r}, which the run config does not provide; "
            f"pass it as config={{'configurable': {{{missing[0]!r}: ...}}}} when invoking the graph."
        )
    out = []
    for label in template:
        filled = label.format(**{k: str(values[k]) for k in keys}) if keys else label
        if not filled or "." in filled:
            raise NamespaceTemplateError(
                f"Namespace label {filled!r} (from {label!r}) must be non-empty and free of '.'; "
                "encode such ids (e.g. replace '.' with '_') before passing them."
            )
        out.append(filled)
    return tuple(out)
