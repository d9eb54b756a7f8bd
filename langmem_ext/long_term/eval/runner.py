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
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore

from langmem_ext.long_term.eval.locomo import load_locomo
from langmem_ext.long_term.eval.metrics import aggregate_recall
from langmem_ext.long_term.retrieval import RecallMode, recall
from langmem_ext.long_term.eval.reflect import ReflectionStats, reflect_conversation, reflection_node
from langmem_ext.long_term.eval.units import Units, memory_turn_ids, units_for
from langmem_ext.long_term.writer import put_memories

__all__ = ["CachedEmbeddings", "DEFAULT_KS", "Facts", "run_locomo_eval"]

DEFAULT_KS = (5, 10, 25, 50)
_UNITS = ("turns", "observations", "summaries", "reflection")
Facts = Literal["none", "dataset"]
"""``"none"``: raw turns; ``"dataset"``: LoCoMo's GPT-written observations as extra index keys
of the turns, an upper reference (a user never has them), not a product figure."""


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


def _check_options(ks: Sequence[int], mode: str, units: str, facts: str, model: Any) -> list[int]:
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"k must be positive integers like (5, 10, 25, 50), got {ks!r}")
    if units not in _UNITS:
        raise ValueError(f"units must be one of {', '.join(map(repr, _UNITS))}, got {units!r}")
    if mode not in ("vector", "text", "hybrid", "hybrid+time"):
        raise ValueError(f"mode must be 'vector', 'text', 'hybrid' or 'hybrid+time', got {mode!r}")
    if facts not in ("none", "dataset"):
        raise ValueError(f"facts must be 'none' or 'dataset', got {facts!r}")
    if facts == "dataset" and units != "turns":
        raise ValueError(
            f"facts='dataset' adds LoCoMo's observations to turn units; with units={units!r} use facts='none' "
            "(reflection writes its own facts; observations and summaries are dataset text already)"
        )
    if model is not None and units != "reflection":
        raise ValueError(f"model= is the reflection model; it applies to units='reflection' only, not {units!r}")
    return ks


def run_locomo_eval(
    path: str | os.PathLike[str],
    *,
    k: Iterable[int] = DEFAULT_KS,
    mode: RecallMode = "hybrid",
    units: Units = "turns",
    facts: Facts = "none",
    model: Any = None,
    store: BaseStore | None = None,
    redis_url: str | None = None,
    embed: Any = None,
    embed_cache: str | os.PathLike[str] | None = None,
    samples: Iterable[str] | None = None,
    max_sessions: int | None = None,
    max_questions: int | None = None,
    with_facts: bool | None = None,
    recall_options: dict[str, Any] | None = None,
    reflection_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Evidence recall@k of LoCoMo questions, through the product's write and recall path.

    Args:
        path: LoCoMo JSON file (the original ``locomo10.json`` format).
        k: Cut-offs, in retrieved units.
        mode: ``"vector"``, ``"text"`` (BM25), ``"hybrid"`` or ``"hybrid+time"``. The
            single-list modes are the plain store rankings (no neighbour propagation)
            unless ``recall_options`` sets ``neighbor_weight``.
        units: What is written: ``"turns"`` (one episode per turn), ``"observations"``
            (LoCoMo's extracted facts, each standing for the turns it cites),
            ``"summaries"`` (one per session, standing for all of its turns) or
            ``"reflection"``: each conversation played through ``ReflectionNode`` session by
            session (:mod:`~langmem_ext.long_term.eval.reflect`), recall over whatever it
            stored, a memory standing for the turns of its ``source_ids``.
        facts: ``"none"`` (default: raw turns, as in published retrieval results) or
            ``"dataset"`` (turn units carry LoCoMo's GPT-written observations as extra index
            keys: an upper reference, not a product figure).
        model: The reflection model for ``units="reflection"`` (a chat model or a
            ``"provider:model"`` name); ``None`` runs the offline extractor.
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
        with_facts: Deprecated: ``facts="dataset"`` / ``facts="none"``.
        recall_options: Extra keyword options for ``recall`` (``vector_weight``,
            ``neighbor_weight``, ``neighbor_window``, ``time_weight``, ``depth``).
        reflection_options: Extra keyword options for ``ReflectionNode``.
        progress: Called with a line of text per conversation.

    Returns:
        ``{"n_questions", "recall": {"5": r, ...}, "by_category": {"1": {"5": r, ..., "n": n},
        ...}, "mode", "units", "facts", "extractor", "k", "n_conversations", "n_memories",
        "seconds"}``; recalls are fractions in [0, 1]. ``extractor`` is ``"offline"`` or the
        model's name with ``units="reflection"`` (``None`` otherwise), which also adds
        ``"reflection"``: memories written (and per turn) by kind, facts closed, exchanges
        skipped, LLM calls and seconds per session.

    Raises:
        ValueError: Bad options or a file that is not LoCoMo's format.
    """
    if with_facts is not None:
        warnings.warn("run_locomo_eval(with_facts=) is deprecated; use facts='dataset' or facts='none'.",
                      DeprecationWarning, stacklevel=2)
        facts = "dataset" if with_facts else "none"
    ks = _check_options(list(k), mode, units, facts, model)
    options = dict(recall_options or {})
    options.setdefault("depth", max(100, ks[-1]))
    convs = load_locomo(path, samples=samples, max_sessions=max_sessions, max_questions=max_questions)
    started = time.perf_counter()
    results: list[tuple[str, list[list[str]], tuple[str, ...]]] = []
    n_memories = 0
    stats: ReflectionStats | None = None
    node: Any = None
    if units == "reflection":
        if isinstance(model, str):
            from langmem_ext.models import load_chat_model

            model = load_chat_model(model)
        stats = ReflectionStats(extractor="offline" if model is None else _model_label(model))
        node = reflection_node(("locomo", "{user_id}", units), model=model, **(reflection_options or {}))
    with ExitStack() as stack:
        cache: CachedEmbeddings | None = None
        if store is None:
            store, cache = _make_store(stack, redis_url, embed, embed_cache)
        for conv in convs:
            namespace = ("locomo", conv.sample_id, units)
            if hasattr(store, "delete_namespace_prefix"):
                store.delete_namespace_prefix(namespace)  # a re-run starts clean
            if stats is not None:
                before = sum(stats.written.values())
                reflect_conversation(node, store, conv, stats=stats)
                written = sum(stats.written.values()) - before
            else:
                memories = units_for(conv, units, with_facts=facts == "dataset")
                put_memories(store, namespace, memories)
                written = len(memories)
            n_memories += written
            for q in conv.questions:
                hits = recall(store, namespace, q.question, limit=ks[-1], mode=mode, **options)
                results.append((q.category, [memory_turn_ids(h.value) for h in hits], q.evidence))
            if cache is not None:
                cache.save()
            if progress is not None:
                progress(f"{conv.sample_id}: {written} {units if stats is None else 'memories'}, "
                         f"{len(conv.questions)} questions")
    out = aggregate_recall(results, ks=ks)
    out.update(
        mode=mode,
        units=units,
        facts=facts,
        extractor=None if stats is None else stats.extractor,
        k=ks,
        n_conversations=len(convs),
        n_memories=n_memories,
        seconds=round(time.perf_counter() - started, 2),
    )
    if stats is not None:
        out["reflection"] = stats.summary()
    return out


def _model_label(model: Any) -> str:
    for attr in ("model_name", "model", "model_id"):
        name = getattr(model, attr, None)
        if isinstance(name, str) and name:
            return name
    return type(model).__name__


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
