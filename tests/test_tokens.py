from __future__ import annotations

import hashlib

import pytest
import tiktoken

from langmem_ext import tokens


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_packaged_file_matches_tiktoken_hash(name: str) -> None:
    data = tokens._packaged_bpe(name)
    assert hashlib.sha256(data).hexdigest() == tokens._SOURCES[name][1]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_offline_encoding_without_network(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    # An empty cache and no network: any download attempt fails the test.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    import tiktoken.load

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download a tokenizer")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    tokens._load.cache_clear()
    tiktoken.registry.ENCODINGS.pop(name, None)
    try:
        enc = tokens.get_encoding(name)
        assert enc.decode(enc.encode("Paris → Lisbon, 2023")) == "Paris → Lisbon, 2023"
    finally:
        tokens._load.cache_clear()


def test_known_token_ids() -> None:
    # Ids published in OpenAI's tiktoken README / cookbook.
    assert tokens.get_encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert tokens.get_encoding("o200k_base").encode("hello world") == [24912, 2375]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("openai:gpt-4.1", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        (None, "o200k_base"),
    ],
)
def test_encoding_follows_model(model: str | None, expected: str) -> None:
    assert tokens.encoding_name_for_model(model) == expected


def test_unknown_encoding_names_alternatives() -> None:
    with pytest.raises(ValueError, match="token_counter"):
        tokens.get_encoding("p50k_base")  # type: ignore[arg-type]


def test_disabled_cache_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    with pytest.raises(tokens.TokenizerUnavailableError, match="TIKTOKEN_CACHE_DIR"):
        tokens._prime_cache("cl100k_base")


def test_same_ids_as_tiktoken_registry() -> None:
    enc = tokens.get_encoding("o200k_base")
    assert tiktoken.get_encoding("o200k_base").encode("mixed 文字 text 123") == enc.encode(
        "mixed 文字 text 123"
    )
