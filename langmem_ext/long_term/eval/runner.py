"""``run_locomo_eval``: LoCoMo evidence recall measured through the product's own path.

Each conversation is written with :func:`langmem_ext.long_term.put_memories` into a
:class:`langmem_ext.store.RedisStore` (hybrid index, offline MiniLM embeddings unless
``embed=`` says otherwise) under ``("locomo", sample_id, units)``, then every question is
asked with :func:`~langmem_ext.long_term.retrieval.recall` in that namespace. Retrieved
memories map back to turn ids through their ``source_ids``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore

from langmem_ext.long_term.eval.locomo import load_locomo
from langmem_ext.long_term.eval.metrics import aggregate_recall
from langmem_ext.long_term.retrieval import RecallMode, recall
from langmem_ext.long_term.eval.units import Units, memory_turn_ids, units_for
from langmem_ext.long_term.writer import put_memories

__all__ = ["CachedEmbeddings", "DEFAULT_KS", "run_locomo_eval"]

DEFAULT_KS = (5, 10, 25, 50)
_UNITS = ("turns", "observations", "summaries")


class CachedEmbeddings(Embeddings):
    """Wrap an ``Embeddings`` with a per-text vector cache, optionally kept in a file.

    Args:
        inner: The embeddings that compute missing vectors.
        path: A pickle file to load from and save to (``None``: memory only).
    """

    def __init__(self, inner: Embeddings, *, path: str | os.PathLike[str] | None = None) -> None:
        self.inner = inner
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._vecs: dict[str, list[float]] = {}
        if self.path is not None and self.path.exists():
            with open(self.path, "rb") as fh:
                self._vecs = pickle.load(fh)
        self._dirty = False

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        with self._lock:
            missing = {k: t for k, t in zip(keys, texts) if k not in self._vecs}
        if missing:
            vecs = self.inner.embed_documents(list(missing.values()))
            with self._lock:
                self._vecs.update(zip(missing, vecs))
                self._dirty = True
        return [self._vecs[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def save(self) -> None:
        """Write the cache file (atomically) if anything new was computed."""
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with self._lock, open(tmp, "wb") as fh:
            pickle.dump(self._vecs, fh)
        tmp.replace(self.path)
        self._dirty = False


def _check_options(ks: Sequence[int], mode: str, units: str) -> list[int]:
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"k must be positive integers like (5, 10, 25, 50), got {ks!r}")
    if units not in _UNITS:
        raise ValueError(f"units must be one of {', '.join(map(repr, _UNITS))}, got {units!r}")
    if mode not in ("vector", "text", "hybrid", "hybrid+time"):
        raise ValueError(f"mode must be 'vector', 'text', 'hybrid' or 'hybrid+time', got {mode!r}")
    return ks


def run_locomo_eval(
    path: str | os.PathLike[str],
    *,
    k: Iterable[int] = DEFAULT_KS,
    mode: RecallMode = "hybrid",
    units: Units = "turns",
    store: BaseStore | None = None,
    redis_url: str | None = None,
    embed: Any = None,
    embed_cache: str | os.PathLike[str] | None = None,
    samples: Iterable[str] | None = None,
    max_sessions: int | None = None,
    max_questions: int | None = None,
    with_facts: bool = True,
    recall_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Evidence recall@k of LoCoMo questions, through the product's write and recall path.

    Args:
        path: LoCoMo JSON file (the original ``locomo10.json`` format).
        k: Cut-offs, in retrieved units.
        mode: ``"vector"``, ``"text"`` (BM25), ``"hybrid"`` or ``"hybrid+time"``. The
            single-list modes are the plain store rankings (no neighbour propagation)
            unless ``recall_options`` sets ``neighbor_weight``.
        units: ``"turns"`` (episodes), ``"observations"`` (extracted facts, each standing for
            the turns it cites) or ``"summaries"`` (one per session, standing for all of
            its turns).
        store: A store with a vector index over ``content`` (text modes need
            ``langmem_ext.store.RedisStore``); ``None`` starts an embedded Redis and a
            ``RedisStore`` for the run (on ``redis_url`` if given). Namespaces
            ``("locomo", sample_id, units)`` are overwritten.
        redis_url: Redis for the store made here (default: a private embedded Redis).
        embed: Embeddings for the store made here (default: offline MiniLM).
        embed_cache: A file caching vectors between runs (development speed-up).
        samples: Only these sample ids.
        max_sessions: Only each conversation's first N sessions (and their questions).
        max_questions: At most N questions per conversation.
        with_facts: Turn units carry their extracted facts as extra index keys.
        recall_options: Extra keyword options for ``recall`` (``vector_weight``,
            ``neighbor_weight``, ``neighbor_window``, ``time_weight``, ``depth``).
        progress: Called with a line of text per conversation.

    Returns:
        ``{"n_questions", "recall": {"5": r, ...}, "by_category": {"1": {"5": r, ..., "n": n},
        ...}, "mode", "units", "k", "n_conversations", "n_memories", "seconds"}``; recalls
        are fractions in [0, 1].

    Raises:
        ValueError: Bad options or a file that is not LoCoMo's format.
    """
    ks = _check_options(list(k), mode, units)
    options = dict(recall_options or {})
    options.setdefault("depth", max(100, ks[-1]))
    convs = load_locomo(path, samples=samples, max_sessions=max_sessions, max_questions=max_questions)
    started = time.perf_counter()
    results: list[tuple[str, list[list[str]], tuple[str, ...]]] = []
    n_memories = 0
    with ExitStack() as stack:
        cache: CachedEmbeddings | None = None
        if store is None:
            store, cache = _make_store(stack, redis_url, embed, embed_cache)
        for conv in convs:
            namespace = ("locomo", conv.sample_id, units)
            if hasattr(store, "delete_namespace_prefix"):
                store.delete_namespace_prefix(namespace)  # a re-run starts clean
            memories = units_for(conv, units, with_facts=with_facts)
            put_memories(store, namespace, memories)
            n_memories += len(memories)
            for q in conv.questions:
                hits = recall(store, namespace, q.question, limit=ks[-1], mode=mode, **options)
                results.append((q.category, [memory_turn_ids(h.value) for h in hits], q.evidence))
            if cache is not None:
                cache.save()
            if progress is not None:
                progress(f"{conv.sample_id}: {len(memories)} {units}, {len(conv.questions)} questions")
    out = aggregate_recall(results, ks=ks)
    out.update(
        mode=mode,
        units=units,
        k=ks,
        n_conversations=len(convs),
        n_memories=n_memories,
        seconds=round(time.perf_counter() - started, 2),
    )
    return out


def _make_store(
    stack: ExitStack, redis_url: str | None, embed: Any, embed_cache: Any
) -> tuple[BaseStore, CachedEmbeddings | None]:
    from langmem_ext.connection import connect
    from langmem_ext.embeddings import MINILM_DIMS, MINILM_SPEC, resolve_embeddings
    from langmem_ext.server import EmbeddedRedis
    from langmem_ext.store import RedisStore

    embeddings = resolve_embeddings(embed if embed is not None else MINILM_SPEC)
    dims = getattr(embeddings, "dims", None) or (MINILM_DIMS if embed is None else len(embeddings.embed_query("x")))
    cache = None
    if embed_cache is not None:
        cache = CachedEmbeddings(embeddings, path=embed_cache)
        embeddings = cache
    if redis_url is None:
        server = EmbeddedRedis()
        server.start()
        stack.callback(server.stop)
        redis_url = server.url
    client = connect(redis_url)
    stack.callback(client.close)
    store = RedisStore(client, index={"dims": dims, "embed": embeddings, "fields": ["content"]},
                       key_prefix="langmem-ext-eval")
    store.setup()
    return store, cache
