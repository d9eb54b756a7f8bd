import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langmem_ext.short_term.counting import MessageTokenCounter, as_counter
from langmem_ext.tokens import count_text_tokens


def test_overheads_follow_openai_chat_format():
    c = MessageTokenCounter(tokenizer_model="gpt-4o")
    text = "The quick brown fox jumps over the lazy dog."
    assert c.count_message(HumanMessage(text)) == count_text_tokens(text, tokenizer_model="gpt-4o") + 4
    named = HumanMessage(text, name="ada")
    assert c.count_message(named) == c.count_message(HumanMessage(text)) + 1 + count_text_tokens("ada", tokenizer_model="gpt-4o")
    assert c([HumanMessage(text)]) == c.count_message(HumanMessage(text)) + 3


def test_tool_call_arguments_and_ids_are_counted():
    c = MessageTokenCounter()
    bare = AIMessage("")
    small = AIMessage("", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c1"}])
    big = AIMessage("", tool_calls=[{"name": "search", "args": {"q": "x " * 100}, "id": "c1"}])
    assert c.count_message(bare) < c.count_message(small) < c.count_message(big)
    assert c.count_message(ToolMessage("r", tool_call_id="call_abcdef")) > c.count_message(ToolMessage("r", tool_call_id="c"))


def test_model_chooses_the_encoding():
    text = "naïve café déjà vu — 日本語のテキスト " * 5
    assert MessageTokenCounter(tokenizer_model="gpt-4o").text_tokens(text) != MessageTokenCounter(tokenizer_model="gpt-4").text_tokens(text)


def test_cache_hits_by_id_and_recounts_edited_content():
    c = MessageTokenCounter()
    m = HumanMessage("hello there", id="m1")
    first = c.count_message(m)
    c.count_message(m)
    assert c.cache_info() == {"entries": 1, "hits": 1, "misses": 1}
    m.content = "hello there " * 20  # edited in place: must not reuse the stale count
    assert c.count_message(m) > first
    assert c.cache_info()["misses"] == 2


def test_cache_is_bounded():
    c = MessageTokenCounter(max_entries=3)
    for i in range(10):
        c.count_message(HumanMessage(f"m{i}", id=str(i)))
    assert c.cache_info()["entries"] == 3


def test_passed_in_counter_is_used_per_message():
    seen = []

    def counter(msgs):
        seen.append(len(list(msgs)))
        return 7

    c = as_counter(counter)
    assert c([HumanMessage("a", id="1"), HumanMessage("b", id="2")]) == 14
    assert seen == [1, 1]


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="max_entries"):
        MessageTokenCounter(max_entries=0)
    with pytest.raises(TypeError, match="token_counter"):
        as_counter(42)  # type: ignore[arg-type]
