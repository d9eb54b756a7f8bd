"""Checks and deprecations shared by every public option (one wording everywhere).

Example:
    >>> check_positive("TrimNode", max_tokens=-1)
    Traceback (most recent call last):
    ...
    ValueError: TrimNode: max_tokens must be > 0, got -1.
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     deprecated_options("RecallNode", {"token_model": "gpt-4o"}, {"token_model": "tokenizer_model"},
    ...                        tokenizer_model=None)
    {'tokenizer_model': 'gpt-4o'}
    >>> str(caught[0].message)
    'RecallNode(token_model=...) is deprecated; use tokenizer_model=... (same meaning).'
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

__all__ = [
    "CONFIGURED",
    "LangmemExtDeprecationWarning",
    "warn_deprecated",
    "check_fraction",
    "check_non_negative",
    "check_positive",
    "deprecated_options",
    "keyword_model",
    "resolve_model",
]


class LangmemExtDeprecationWarning(DeprecationWarning):
    """A deprecated name or call of langmem-ext (a DeprecationWarning of its own, so it can be filtered:
    ``-W error::langmem_ext.LangmemExtDeprecationWarning`` finds every use in your code)."""


def warn_deprecated(message: str) -> None:
    """A :class:`LangmemExtDeprecationWarning` attributed to the first caller outside langmem_ext (the user's line)."""
    frame, level = sys._getframe(0), 1
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).startswith("langmem_ext"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, LangmemExtDeprecationWarning, stacklevel=level)


def _number(value: Any) -> float | None:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _check(owner: str, values: Mapping[str, Any], ok: Callable[[float], bool], rule: str) -> None:
    for name, value in values.items():
        if value is None:
            continue
        number = _number(value)
        if number is None or not ok(number):
            raise ValueError(f"{owner}: {name} must be {rule}, got {value!r}.")


def check_positive(owner: str, **values: Any) -> None:
    """Raise ``ValueError`` naming ``owner`` unless every given value (None skipped) is > 0."""
    _check(owner, values, lambda x: x > 0, "> 0")


def check_non_negative(owner: str, **values: Any) -> None:
    """Raise ``ValueError`` naming ``owner`` unless every given value (None skipped) is >= 0."""
    _check(owner, values, lambda x: x >= 0, ">= 0")


def check_fraction(owner: str, **values: Any) -> None:
    """Raise ``ValueError`` naming ``owner`` unless every given value (None skipped) is in [0, 1]."""
    _check(owner, values, lambda x: 0 <= x <= 1, "within [0, 1]")


def deprecated_options(owner: str, legacy: Mapping[str, Any], renames: Mapping[str, str], **current: Any) -> dict[str, Any]:
    """``current`` (option name -> value as given, None: not given) completed from deprecated names.

    ``legacy`` is the ``**kwargs`` of the caller; ``renames`` maps each deprecated name to
    its new one. A deprecated name warns (DeprecationWarning) and sets the new option.

    Raises:
        TypeError: an unknown keyword, or an option given under both names.
    """
    unknown = sorted(set(legacy) - set(renames))
    if unknown:
        raise TypeError(f"{owner} got unexpected keyword argument(s) {unknown}.")
    out = dict(current)
    for old, value in legacy.items():
        new = renames[old]
        if out.get(new) is not None:
            raise TypeError(f"{owner}: give {new}= only ({old}= is its deprecated name).")
        warn_deprecated(f"{owner}({old}=...) is deprecated; use {new}=... (same meaning).")
        out[new] = value
    return out


def keyword_model(init: Callable[..., None]) -> Callable[..., None]:
    """Let ``__init__(self, *, model=...)`` still take ``model`` positionally, with a DeprecationWarning."""

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            owner = type(self).__name__
            if len(args) > 1 or "model" in kwargs:
                raise TypeError(f"{owner} takes its options as keywords only: {owner}(model=..., ...).")
            warn_deprecated(f"{owner}(model) positionally is deprecated; pass model=... by keyword.")
            kwargs["model"] = args[0]
        init(self, **kwargs)

    return wrapper


class _Configured:
    """The default of ``model=``: the configured memory model (see :func:`resolve_model`)."""

    def __repr__(self) -> str:
        return "<the configured memory model>"


CONFIGURED: Any = _Configured()
"""Sentinel default of every node's ``model=``: use :func:`langmem_ext.models.default_memory_model`."""


def resolve_model(model: Any) -> Any:
    """A node's ``model=``: :data:`CONFIGURED` -> the configured memory model (None: offline);
    a ``"provider:model"`` string -> that chat model; anything else (None included) as given."""
    if model is CONFIGURED:
        from langmem_ext.models import default_memory_model

        return default_memory_model()
    from langmem_ext.models import as_chat_model

    return as_chat_model(model)
