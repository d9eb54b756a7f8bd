"""Puts: validate and encode values, reuse or compute embeddings, build the write script call.

No I/O here: the helpers are generators that yield :class:`Pipe` / :class:`Embed`
requests, mixed into the base store. Embedding rules (as InMemoryStore):

- a put whose indexed texts did not change reuses the stored vectors (no embed call);
- a put that embeds nothing (``index=False``, or no text at the indexed paths) keeps
  the item's previous vectors (and its BM25 text), so it stays findable by them;
- one embed call per batch, each distinct text embedded once.

Example:
    >>> from langgraph.store.base import PutOp
    >>> class Demo(PutsMixin):
    ...     index_config = None
    ...     prefix, limits, _tokenized, _write_sha = "demo", Limits(), [], "sha"
    >>> p = Demo()._prepare_put(PutOp(("users",), "k", {"a": 1}), 7)
    >>> p.fields["v"], p.fields["u"], p.numeric
    ('{"a": 1}', '7', [('a',)])
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langgraph.store.base import PutOp, get_text_at_path, tokenize_path

from langmem_ext.limits import Limits
from langmem_ext.store import _keys as K
from langmem_ext.store._limits import check_put_limits
from langmem_ext.store._resp import Embed, Pipe

__all__ = ["EmbeddingError", "OLD_FIELDS", "PutsMixin", "write_command"]

Gen = Generator[Any, Any, Any]
_MAX_NUMERIC_LEAVES = 200
#: Stored fields read before a put that may reuse or keep the item's vectors.
OLD_FIELDS = ("eh", "nv", "vec", "t")


class EmbeddingError(RuntimeError):
    """The embedding model failed or returned vectors of the wrong size; nothing was written."""


@dataclass
class _Put:
    namespace: tuple[str, ...]
    key: str
    rkey: str
    fields: dict[str, Any] | None  # None: delete
    texts: list[tuple[str, str]] = field(default_factory=list)
    child: dict[str, Any] = field(default_factory=dict)
    numeric: list[tuple[str, ...]] = field(default_factory=list)
    ttl_ms: int = 0
    vectors: list[bytes] | None = None
    truncated: bool = False


class PutsMixin:
    """``_prepare_put``, ``_embed_puts`` and ``_write_command``, mixed into the base store."""

    index_config: dict[str, Any] | None
    prefix: str
    limits: Limits
    _tokenized: list[tuple[str, Any]]
    _write_sha: str

    def _texts(self, op: PutOp) -> list[tuple[str, str]]:
        if not self.index_config or op.value is None or op.index is False:
            return []
        paths = self._tokenized if op.index is None else [(p, tokenize_path(p)) for p in op.index]
        out: list[tuple[str, str]] = []
        for path, tokens in paths:
            texts = get_text_at_path(op.value, tokens)
            if len(texts) > 1:
                out += [(f"{path}.{j}", t) for j, t in enumerate(texts)]
            elif texts:
                out.append((path, texts[0]))
        return out

    def _vector_puts(self, prepared: list[_Put]) -> list[_Put]:
        """The puts that need the item's stored vectors read first (to reuse or to keep)."""
        if not self.index_config:
            return []
        return [p for p in prepared if p.fields is not None]

    def _prepare_put(self, op: PutOp, updated: int) -> _Put:
        if not isinstance(op.key, str):
            raise TypeError(f"Item keys must be strings, got {type(op.key).__name__} ({op.key!r}).")
        try:
            rkey = K.item_key(self.prefix, op.namespace, op.key)
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"Key {op.key!r} or namespace {op.namespace} is not valid Unicode text ({exc.reason}); "
                "remove lone surrogates (e.g. decode bytes with errors='replace')."
            ) from exc
        if op.value is None:
            return _Put(op.namespace, op.key, rkey, None)
        if not isinstance(op.value, Mapping):
            raise TypeError(f"Values must be dicts, got {type(op.value).__name__} for key {op.key!r}; wrap it: {{'value': ...}}.")
        try:
            dumped = json.dumps(dict(op.value), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"The value for key {op.key!r} in {op.namespace} is not JSON ({exc}); "
                "store only dicts, lists, strings, finite numbers, booleans and None."
            ) from exc
        try:
            size = len(dumped.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise TypeError(
                f"The value for key {op.key!r} in {op.namespace} holds text that is not valid Unicode "
                f"({exc.reason}); remove lone surrogates (e.g. decode bytes with errors='replace')."
            ) from exc
        texts = self._texts(op)
        check_put_limits(self.limits, op.namespace, op.key, size, texts)
        value = json.loads(dumped)
        ttl_ms = int(op.ttl * 60_000) if op.ttl else 0
        if op.ttl is not None and op.ttl <= 0:
            raise ValueError(f"ttl must be positive minutes or None, got {op.ttl!r}.")
        numeric = K.numeric_leaves(value)
        times = K.time_leaves(value)
        truncated = len(numeric) > _MAX_NUMERIC_LEAVES
        if truncated:
            numeric = dict(list(numeric.items())[:_MAX_NUMERIC_LEAVES])
        complete = not truncated and len(times) <= _MAX_NUMERIC_LEAVES
        ns_json, prefixes = K.namespace_fields(op.namespace)
        common = {
            "p": prefixes,
            "f": ",".join(K.field_tokens(value)),
            **{K.numeric_field(path): repr(x) for path, x in numeric.items()},
        }
        fields = {
            "ns": ns_json,
            "k": op.key,
            "v": dumped,
            "u": str(updated),
            "ttl": str(ttl_ms),
            "r": "1",
            "e": "0",
            "nv": "0",
            "eh": K.text_hash(texts) if texts else "",
            "t": "\n".join(t for _, t in texts),
            **common,
            **{K.time_field(path): str(us) for path, us in list(times.items())[:_MAX_NUMERIC_LEAVES]},
            **({"dv": "1"} if complete else {}),
        }
        return _Put(op.namespace, op.key, rkey, fields, texts, {"o": rkey, **common}, list(numeric), ttl_ms, truncated=truncated)

    def _embed_puts(self, puts: list[_Put], olds: list[Any]) -> Gen:
        """Give each put its vectors: reused, kept (nothing to embed), or embedded in one call.

        Args:
            puts: the puts of :meth:`_vector_puts`.
            olds: for each, the stored :data:`OLD_FIELDS` (all None if the item is new).
        """
        todo: list[_Put] = []
        reuse: list[tuple[_Put, int, bytes]] = []
        for p, (eh, nv, vec, text) in zip(puts, olds):
            assert p.fields is not None
            if not p.texts:
                if vec:  # nothing to embed: keep the previous vectors, as InMemoryStore does
                    p.fields["eh"], p.fields["t"] = (eh or b"").decode(), (text or b"").decode()
                    reuse.append((p, int(nv or 0), vec))
            elif eh is not None and eh.decode() == p.fields["eh"] and vec:
                reuse.append((p, int(nv or 0), vec))
            else:
                todo.append(p)
        children = [(p, j) for p, nv, _ in reuse for j in range(1, nv + 1)]
        extra: dict[str, list[bytes]] = {}
        if children:
            got = yield Pipe([("HGET", f"{p.rkey}:{j}", "vec") for p, j in children])
            for (p, _), vec in zip(children, got):
                extra.setdefault(p.rkey, []).append(vec)
        for p, nv, vec in reuse:
            more = extra.get(p.rkey, [])
            if len(more) == nv and all(v is not None for v in more):
                p.vectors = [vec, *more]
            elif p.texts:
                todo.append(p)  # children expired or changed underneath: embed afresh
            else:
                p.fields["eh"], p.fields["t"] = "", ""  # type: ignore[index]  # cannot keep them whole
        unique = list(dict.fromkeys(t for p in todo for _, t in p.texts))
        if unique:
            try:
                vectors = yield Embed(unique)
            except Exception as exc:
                raise EmbeddingError(
                    f"Embedding {len(unique)} text(s) failed: {exc!r}. Nothing was written; "
                    "check the embedding model (index['embed']) and retry."
                ) from exc
            dims = self.index_config["dims"]  # type: ignore[index]
            if len(vectors) != len(unique) or any(len(v) != dims for v in vectors):
                raise EmbeddingError(
                    f"The embedding model returned {len(vectors)} vector(s) of size "
                    f"{sorted({len(v) for v in vectors})} for {len(unique)} text(s); index['dims'] is {dims}. "
                    "Nothing was written; fix index['dims'] or the model."
                )
            blobs = dict(zip(unique, (np.asarray(v, dtype=np.float32).tobytes() for v in vectors)))
            for p in todo:
                p.vectors = [blobs[t] for _, t in p.texts]
        for p in puts:
            if p.vectors:
                p.fields["vec"] = p.vectors[0]  # type: ignore[index]
                p.fields["e"] = "1"  # type: ignore[index]
                p.fields["nv"] = str(len(p.vectors) - 1)  # type: ignore[index]

    def _write_command(self, p: _Put, now: int, *, expected: str) -> tuple[Any, ...]:
        """The write script call for ``p`` (see ``WRITE_LUA`` for the argument layout)."""
        return write_command(self._write_sha, p.rkey, now, expected=expected, ttl_ms=p.ttl_ms,
                             fields=p.fields, child=p.child, vectors=p.vectors or [])


def write_command(
    sha: str,
    rkey: str,
    now: int,
    *,
    expected: str,
    ttl_ms: int = 0,
    fields: dict[str, Any] | None = None,
    child: dict[str, Any] | None = None,
    vectors: list[bytes] | None = None,
) -> tuple[Any, ...]:
    """``EVALSHA`` of the write script: write ``fields`` (None: delete) if the version is ``expected``.

    >>> write_command("sha", "k", 5, expected="")
    ('EVALSHA', 'sha', 1, 'k', '', '0', '5', '0')
    >>> write_command("sha", "k", 5, expected="2", fields={"v": "{}", "vec": b"x"}, vectors=[b"x"])
    ('EVALSHA', 'sha', 1, 'k', '2', '0', '5', '2', 'v', '{}', '0', b'x')
    """
    head = ("EVALSHA", sha, 1, rkey, expected, str(ttl_ms), str(now))
    if fields is None:
        return (*head, "0")
    flat = [x for kv in fields.items() if kv[0] != "vec" for x in kv]
    vectors = vectors or []
    common = [x for kv in (child or {}).items() for x in kv] if len(vectors) > 1 else []
    return (*head, str(len(flat)), *flat, str(len(common)), *common, *vectors)
