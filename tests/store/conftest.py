"""Fixtures for the store tests: both store classes on the session's real Redis."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings

from langmem_ext.connection import aconnect, connect
from langmem_ext.store import AsyncRedisStore, RedisStore

DIMS = 32


class WordEmbeddings(Embeddings):
    """Deterministic bag-of-words vectors (hashed words), counting every text it embeds."""

    def __init__(self, dims: int = DIMS) -> None:
        self.dims = dims
        self.calls: list[list[str]] = []

    def _one(self, text: str) -> list[float]:
        vec = [0.0] * self.dims
        for word in re.findall(r"\w+", text.lower()):
            h = int(hashlib.md5(word.encode()).hexdigest(), 16)
            vec[h % self.dims] += 1.0 if (h >> 8) % 2 else -1.0
        norm = math.sqrt(sum(x * x for x in vec)) or 1.0
        return [x / norm for x in vec] if any(vec) else [1.0] + [0.0] * (self.dims - 1)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)


class BrokenEmbeddings(WordEmbeddings):
    """Fails on documents containing 'boom'."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if any("boom" in t for t in texts):
            raise RuntimeError("model server said no")
        return super().embed_documents(texts)


@pytest.fixture(params=["sync", "async"])
def store_cls(request: pytest.FixtureRequest) -> type[RedisStore]:
    return RedisStore if request.param == "sync" else AsyncRedisStore


@pytest.fixture
async def make_store(store_cls: type[RedisStore], redis_url: str) -> AsyncIterator[Any]:
    """``make_store(index=..., ttl=..., key_prefix=...)`` -> a set-up store of the parametrised class."""
    made: list[RedisStore] = []

    async def make(**kwargs: Any) -> RedisStore:
        client = aconnect(redis_url) if store_cls is AsyncRedisStore else connect(redis_url)
        store = store_cls(client, **kwargs)
        if isinstance(store, AsyncRedisStore):
            await store.asetup()
        else:
            store.setup()
        made.append(store)
        return store

    yield make
    for store in made:
        if isinstance(store, AsyncRedisStore):
            await store._client.aclose()
        else:
            store._client.close()


@pytest.fixture
def embeddings() -> WordEmbeddings:
    return WordEmbeddings()
