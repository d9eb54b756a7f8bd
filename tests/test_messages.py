"""langmem_ext.messages: the one copy of the message helpers (text, stable keys, merge, queries)."""

from __future__ import annotations

import subprocess
import sys

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langmem_ext.messages import build_queries, merge_messages, message_key, message_text, split_sentences


def test_message_text_joins_text_blocks_and_skips_the_rest():
    m = HumanMessage(["a", {"type": "text", "text": "b"}, {"type": "image_url", "image_url": {"url": "x"}}])
    assert message_text(m) == "a\nb"
    assert message_text(AIMessage("plain")) == "plain"


def test_message_key_is_the_id_when_there_is_one():
    assert message_key(HumanMessage("x", id="m7")) == "m7"


def test_message_key_tells_apart_type_text_and_tool_calls():
    call = lambda i: AIMessage("", tool_calls=[{"name": "f", "args": {"x": i}, "id": "c"}])  # noqa: E731
    keys = {
        message_key(HumanMessage("same")),
        message_key(AIMessage("same")),
        message_key(HumanMessage("other")),
        message_key(call(1)),
        message_key(call(2)),
        message_key(ToolMessage("r", tool_call_id="c1")),
        message_key(ToolMessage("r", tool_call_id="c2")),
    }
    assert len(keys) == 7


def test_message_key_is_the_same_in_every_process():
    """Python's hash() is salted per process; the key must not be (caches and cursors persist)."""
    code = (
        "from langchain_core.messages import AIMessage\n"
        "from langmem_ext.messages import message_key\n"
        "print(message_key(AIMessage('hello', tool_calls=[{'name': 'f', 'args': {'a': 1}, 'id': 'c'}])))"
    )
    keys = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(keys) == 1 and next(iter(keys)).startswith("h:")


def test_message_key_of_a_plain_message_is_the_reflection_cursors_format():
    """Cursors written before the helpers moved stay valid: "h:" + sha1("type:text")[:16]."""
    import hashlib

    assert message_key(HumanMessage("I live in Porto.")) == "h:" + hashlib.sha1(b"human:I live in Porto.").hexdigest()[:16]


def test_merge_messages_keeps_older_unique_first():
    a, b, c = (HumanMessage(t, id=t) for t in "abc")
    b2 = HumanMessage("b edited", id="b")
    assert [m.content for m in merge_messages([a, b], [b2, c])] == ["a", "b edited", "c"]


def test_merge_messages_without_ids_uses_the_content_key():
    assert [m.content for m in merge_messages([HumanMessage("x"), HumanMessage("y")], [HumanMessage("x")])] == ["y", "x"]


def test_split_sentences():
    assert split_sentences("One. Two?  Three!\n\nfour") == ["One.", "Two?", "Three!", "four"]
    assert split_sentences("   ") == []


def test_build_queries_reads_every_message_and_drops_duplicates():
    msgs = [HumanMessage("I adopted a cat named Miso. I adopted a cat named Miso."), AIMessage("Lovely name!"),
            HumanMessage("My sister lives in Berlin.")]
    queries = build_queries(msgs, max_queries=5)
    assert queries[:2] == ["I adopted a cat named Miso.", "My sister lives in Berlin."]
    assert queries[-1] == "Lovely name!"
    assert len(build_queries(msgs, max_queries=1)) == 1
