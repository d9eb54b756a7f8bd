"""Search: listing, vector KNN, BM25 text and hybrid (RRF) queries; no I/O here.

Every filter is pushed into the RediSearch query (see :mod:`langmem_ext.store.filters`),
so ``limit`` results come back whenever that many exist; each hit is re-checked in
Python, and the rare filters that cannot be expressed exactly (sub-object matches
inside lists, numbers deeper than three levels) are paged until enough pass.

Example:
    >>> bm25_terms("What's the user's e-mail?")
    ['what', 's', 'the', 'user', 's', 'e', 'mail']
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Generator
from typing import Any

import numpy as np
from langgraph.store.base import SearchItem, SearchOp

from langmem_ext.store import _keys as K
from langmem_ext.store._resp import Hit, Pipe, build_item, load_json, parse_search
from langmem_ext.store.filters import compile_filter, matches

__all__ = ["SearchMixin", "bm25_terms"]

Gen = Generator[Any, Any, Any]
_RETURN = ("RETURN", "6", "ns", "k", "v", "c", "u", "ttl")
#: A KNN hit's fields (an extra-vector child has none of the item's: its owner is read after).
_KNN_RETURN = ("RETURN", "7", "ns", "k", "v", "c", "u", "ttl", "d")
_MAX_TERMS = 32
_BATCHES_ABOVE = 0.3
_SELECTIVITY_TTL = 30.0


def bm25_terms(query: str) -> list[str]:
    """The words of ``query`` as RediSearch tokenises text (lower-cased)."""
    return [w for w in re.findall(r"[^\W_]+", query.lower())][:_MAX_TERMS]


def owner_key(doc_id: str) -> str:
    """The item key of a search hit: itself, or the item an extra-vector child ``<item>:<j>`` belongs to.

    >>> owner_key("lm:i:{ab}"), owner_key("lm:i:{ab}:2")
    ('lm:i:{ab}', 'lm:i:{ab}')
    """
    return doc_id if doc_id.endswith("}") else doc_id[: doc_id.rindex("}") + 1]


def _kept(fields: dict[str, Any], flt: dict[str, Any] | None) -> Any:
    """A hit's decoded value if it passes ``flt``; None if it was deleted or filtered out."""
    raw = fields.get("v")
    if raw is None:
        return None
    value = load_json(raw)
    return value if not flt or matches(value, flt) else None


def _escape(term: str) -> str:
    return "".join(c if c.isalnum() else "\\" + c for c in term)


class SearchMixin:
    """``_search_gen`` and its helpers, mixed into the base store."""

    _idx: str
    _meta: str
    _numeric: set[tuple[str, ...]]
    _numeric_full: bool
    _touch_sha: str
    index_config: dict[str, Any] | None

    def _has_numeric(self, path: tuple[str, ...]) -> bool | None:
        if path in self._numeric:
            return True
        return None if self._numeric_full else False

    def _search_gen(self, op: SearchOp, mode: str, qvec: list[float] | None) -> Gen:
        if op.limit < 0 or op.offset < 0:
            raise ValueError(f"limit and offset must be >= 0, got limit={op.limit}, offset={op.offset}.")
        plan = compile_filter(op.filter, has_numeric=lambda _: True)
        if plan.numeric_paths - self._numeric:  # maybe registered by another process
            members, full = yield Pipe([("SMEMBERS", self._meta + ":num"), ("HGET", self._meta, "numeric_full")])
            self._numeric |= {tuple(json.loads(m)) for m in members}
            self._numeric_full = self._numeric_full or bool(full)
            plan = compile_filter(op.filter, has_numeric=self._has_numeric)
        if plan.impossible or op.limit == 0:
            return []
        clauses = ([f"@p:{{{K.prefix_tokens(op.namespace_prefix)[-1]}}}"] if op.namespace_prefix else []) + plan.clauses
        if op.query and self.index_config:
            if mode == "text":
                items = yield from self._text(op, clauses, plan.exact)
            elif mode == "hybrid":
                items = yield from self._hybrid(op, clauses, qvec)
            else:
                items = yield from self._vector(op, clauses, qvec)
        else:
            items = yield from self._listing(op, clauses, plan.exact)
        if op.refresh_ttl:
            touch = [rk for rk, ttl in items_ttl(items) if ttl > 0]
            if touch:
                yield Pipe([("EVALSHA", self._touch_sha, 1, rk) for rk in touch])
        return [it for it, _, _ in items]

    # Each helper returns [(SearchItem, redis_key, ttl_ms)].
    def _rows(self, op: SearchOp, rows: list[Hit], scores: list[float | None]) -> list[tuple[SearchItem, str, int]]:
        out = []
        for hit, score in zip(rows, scores):
            f = hit.fields
            value = _kept(f, op.filter)
            if value is not None:
                out.append((build_item(f, score, search=True, value=value), hit.id, int(f.get("ttl") or 0)))  # type: ignore[misc]
        return out

    def _listing(self, op: SearchOp, clauses: list[str], exact: bool, extra: str = "", limit: int | None = None) -> Gen:
        query = " ".join(["@r:{1}", extra, *clauses]).replace("  ", " ").strip()
        limit = op.limit if limit is None else limit
        offset = op.offset if limit == op.limit else 0
        if exact:
            cmd = ("FT.SEARCH", self._idx, query, "SORTBY", "u", "DESC", *_RETURN,
                   "LIMIT", str(offset), str(limit), "DIALECT", "2")
            hits = parse_search((yield Pipe([cmd]))[0])
            return self._rows(op, hits.rows, [None] * len(hits.rows))
        need, window = offset + limit, max(2 * (offset + limit), 50)
        while True:
            cmd = ("FT.SEARCH", self._idx, query, "SORTBY", "u", "DESC", *_RETURN,
                   "LIMIT", "0", str(window), "DIALECT", "2")
            hits = parse_search((yield Pipe([cmd]))[0])
            kept = self._rows(op, hits.rows, [None] * len(hits.rows))
            if len(kept) >= need or hits.total <= window:
                return kept[offset:need]
            window *= 4

    def _knn(self, op: SearchOp, clauses: list[str], qvec: list[float] | None, depth: int) -> Gen:
        """Best-first ``[(fields, redis_key, distance, value)]`` of at least ``depth`` items when they exist."""
        cfg = self.index_config or {}
        blob = np.asarray(qvec, dtype=np.float32).tobytes()
        base = " ".join(clauses)
        k = max(depth, 1)
        ef = cfg.get("algorithm") == "hnsw"
        policy = ""
        if ef and base:
            policy = " HYBRID_POLICY BATCHES" if (yield from self._selectivity(base)) >= _BATCHES_ABOVE else ""
        while True:
            knn = f"[KNN $K @vec $B{' EF_RUNTIME $EF' if ef else ''}{policy} AS d]"
            query = f"({base})=>{knn}" if base else f"*=>{knn}"
            params = ["K", str(k), "B", blob] + (["EF", str(max(cfg["ef_runtime"], k))] if ef else [])
            cmd = ("FT.SEARCH", self._idx, query, "PARAMS", str(len(params)), *params, "SORTBY", "d", "ASC",
                   *_KNN_RETURN, "LIMIT", "0", str(k), "DIALECT", "2")
            hits = parse_search((yield Pipe([cmd]))[0])
            best: dict[str, tuple[dict[str, Any] | None, float]] = {}
            for hit in hits.rows:
                rk = owner_key(hit.id)
                if rk not in best:
                    best[rk] = (hit.fields if rk == hit.id else None, float(hit.fields["d"]))
            missing = [rk for rk, (f, _) in best.items() if f is None]
            if missing:
                replies = yield Pipe([("HMGET", rk, *K.ITEM_FIELDS) for rk in missing])
                for rk, reply in zip(missing, replies):
                    fields = dict(zip(K.ITEM_FIELDS, reply))
                    best[rk] = (fields if fields["k"] is not None else {}, best[rk][1])
            out = [(f, rk, d, value) for rk, (f, d) in best.items()
                   if f and (value := _kept(f, op.filter)) is not None]
            if len(out) >= depth or len(hits.rows) < k:
                return out
            k *= 2

    def _selectivity(self, base: str) -> Gen:
        """Share of indexed vectors a filter keeps, cached for a while (a hint, never a result).

        RediSearch 2.10 picks brute force for a filter that keeps most of a small index
        (10x slower than the HNSW walk); when most vectors pass, we ask for batches.
        """
        cache: dict[str, tuple[float, float]] = self.__dict__.setdefault("_selectivity_cache", {})
        hit = cache.get(base)
        now = time.monotonic()
        if hit and now - hit[1] < _SELECTIVITY_TTL:
            return hit[0]
        part, total = yield Pipe([
            ("FT.SEARCH", self._idx, base, "LIMIT", "0", "0", "DIALECT", "2"),
            ("FT.SEARCH", self._idx, "*", "LIMIT", "0", "0", "DIALECT", "2"),
        ])
        ratio = parse_search(part).total / max(parse_search(total).total, 1)
        if len(cache) > 1024:
            cache.clear()
        cache[base] = (ratio, now)
        return ratio

    def _vector(self, op: SearchOp, clauses: list[str], qvec: list[float] | None) -> Gen:
        need = op.offset + op.limit
        found = yield from self._knn(op, clauses, qvec, need)
        kept = [(build_item(f, 1.0 - d, search=True, value=v), rk, int(f.get("ttl") or 0))
                for f, rk, d, v in found[op.offset:need]]
        if len(kept) < op.limit:
            # As InMemoryStore: fill up with items that have no vector (index=False), unscored.
            kept += yield from self._listing(op, clauses, True, "@e:{0}", op.limit - len(kept))
        return kept

    def _text_cmd(self, terms: list[str], clauses: list[str], offset: int, limit: int) -> tuple[Any, ...]:
        # No "@r:{1}": extra-vector children carry no text, so the text clause already leaves them
        # out, and intersecting with a tag every item carries cost the server about 1 ms at 10k items.
        query = " ".join(["@t:(" + "|".join(_escape(t) for t in terms) + ")", *clauses])
        return ("FT.SEARCH", self._idx, query, "SCORER", "BM25", "WITHSCORES", *_RETURN,
                "LIMIT", str(offset), str(limit), "DIALECT", "2")

    def _text(self, op: SearchOp, clauses: list[str], exact: bool) -> Gen:
        terms = bm25_terms(op.query or "")
        if not terms:
            return []
        need = op.offset + op.limit
        offset, limit = (op.offset, op.limit) if exact else (0, max(2 * need, 50))
        hits = parse_search((yield Pipe([self._text_cmd(terms, clauses, offset, limit)]))[0], withscores=True)
        scores = [s / (1.0 + s) if s is not None else None for s in (h.score for h in hits.rows)]
        kept = self._rows(op, hits.rows, scores)
        return kept if exact else kept[op.offset:need]

    def _hybrid(self, op: SearchOp, clauses: list[str], qvec: list[float] | None) -> Gen:
        """Reciprocal rank fusion of KNN and BM25; scores scaled so rank 1 in both is 1.0."""
        rrf_k = (self.index_config or {}).get("rrf_k", 60)
        need = op.offset + op.limit
        depth = max(2 * need, 20)
        terms = bm25_terms(op.query or "")
        found = yield from self._knn(op, clauses, qvec, depth)
        text_rows: list[Hit] = []
        if terms:
            text_rows = parse_search((yield Pipe([self._text_cmd(terms, clauses, 0, depth)]))[0], withscores=True).rows
        fused: dict[str, float] = {}
        fields: dict[str, tuple[dict[str, Any], Any]] = {}
        for rank, (f, rk, _, value) in enumerate(found[:depth]):
            fused[rk] = fused.get(rk, 0.0) + 1.0 / (rrf_k + rank + 1)
            fields[rk] = (f, value)
        for rank, hit in enumerate(text_rows):
            if hit.id not in fields:
                value = _kept(hit.fields, op.filter)
                if value is None:
                    continue
                fields[hit.id] = (hit.fields, value)
            fused[hit.id] = fused.get(hit.id, 0.0) + 1.0 / (rrf_k + rank + 1)
        top = 2.0 / (rrf_k + 1)
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])[op.offset:need]
        return [(build_item(fields[rk][0], s / top, search=True, value=fields[rk][1]), rk,
                 int(fields[rk][0].get("ttl") or 0)) for rk, s in ranked]


def items_ttl(items: list[tuple[SearchItem, str, int]]) -> list[tuple[str, int]]:
    """(redis key, ttl ms) of search results."""
    return [(rk, ttl) for _, rk, ttl in items]

