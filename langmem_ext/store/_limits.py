"""The store's size limits (pure; checked before any I/O). See :class:`langmem_ext.limits.Limits`.

Example:
    >>> from langmem_ext.limits import Limits
    >>> check_namespace_limits(Limits(namespace_labels=2), ("a", "b", "c"))
    Traceback (most recent call last):
    ...
    langmem_ext.limits.LimitExceededError: The namespace ('a', 'b', 'c') is 3 labels, over the limit namespace_labels=2. ...
"""

from __future__ import annotations

from collections.abc import Sequence

from langmem_ext.limits import Limits, check_limit, utf8_len

__all__ = ["check_namespace_limits", "check_put_limits", "check_query_limit"]

_OWNER = "RedisStore"


def _short(text: str, n: int = 40) -> str:
    return repr(text if len(text) <= n else text[:n] + "...")


def check_namespace_limits(limits: Limits | None, namespace: Sequence[str]) -> None:
    """Labels per namespace (or prefix) and characters per label."""
    if limits is None or (_under(len(namespace), limits.namespace_labels)
                          and all(_under(len(x), limits.label_chars) for x in namespace if isinstance(x, str))):
        return
    ns = tuple(namespace)
    shown = ns if len(ns) <= 4 else (*ns[:3], "...")
    check_limit(limits, "namespace_labels", len(ns), what=f"The namespace {shown}", owner=_OWNER, unit="labels",
                fix="Put the extra detail in the key or the value.")
    for label in ns:
        if isinstance(label, str):
            check_limit(limits, "label_chars", len(label), what=f"The namespace label {_short(label)}",
                        owner=_OWNER, unit="characters", fix="Use a shorter id (e.g. a hash of it).")


def check_put_limits(limits: Limits | None, namespace: Sequence[str], key: str, value_bytes: int | None,
                     texts: Sequence[tuple[str, str]]) -> None:
    """Namespace, key, serialised value and each indexed text of one put."""
    if limits is None or _within(limits, namespace, key, value_bytes, texts):
        return  # the common case, without building any message
    check_namespace_limits(limits, namespace)
    check_limit(limits, "key_bytes", utf8_len(key), what=f"The key {_short(key)}", owner=_OWNER,
                fix="Use a shorter key (e.g. a hash of it).")
    where = f"key {_short(key)} in {tuple(namespace)[:4]}"
    if value_bytes is not None:
        check_limit(limits, "value_bytes", value_bytes, what=f"The value for {where} (JSON)", owner=_OWNER,
                    fix="Keep large blobs elsewhere and store a reference.")
    for path, text in texts:
        check_limit(limits, "indexed_text_bytes", utf8_len(text), what=f"The indexed text at {path!r} of {where}",
                    owner=_OWNER, fix="Index a shorter field (index=[...]), or split the text over several items.")


def _under(size: int, maximum: int | None) -> bool:
    return maximum is None or size <= maximum


def _within(limits: Limits, namespace: Sequence[str], key: str, value_bytes: int | None,
            texts: Sequence[tuple[str, str]]) -> bool:
    return (
        _under(len(namespace), limits.namespace_labels)
        and all(_under(len(label), limits.label_chars) for label in namespace if isinstance(label, str))
        and _under(utf8_len(key), limits.key_bytes)
        and (value_bytes is None or _under(value_bytes, limits.value_bytes))
        and all(_under(utf8_len(text), limits.indexed_text_bytes) for _, text in texts)
    )


def check_query_limit(limits: Limits | None, query: str | None) -> None:
    """The length of a search query."""
    if query and limits is not None and not _under(utf8_len(query), limits.query_bytes):
        check_limit(limits, "query_bytes", utf8_len(query), what=f"The search query {_short(query)}", owner=_OWNER,
                    fix="Search with a shorter query (its first sentences, or a summary).")
