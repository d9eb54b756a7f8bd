"""The thread view, in Chromium: history, running summary and the model input with the recalled block."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langmem_ext.long_term import MEMORY_BLOCK_ID
from langmem_ext.ui.threads import list_threads, shape_thread, thread_view
from tests.ui._harness import screenshot


def _chat(redis_url: str, user: str) -> str:
    """Two threads of the example chatbot; returns the recalled block the model saw in the second."""
    from langmem_ext.graphs import chatbot
    from langmem_ext.graphs.common import redis_backends, thread_config
    from langmem_ext.models import OfflineResponder

    with redis_backends(redis_url) as (saver, store):
        graph = chatbot.build_graph(checkpointer=saver, store=store, model=OfflineResponder())
        graph.invoke({"messages": [HumanMessage("I live in Porto and I have a dog called Pixel.")]},
                     thread_config("first", user_id=user))
        chatbot.wait_for_reflection(graph)
        state = graph.invoke({"messages": [HumanMessage("Where do I live?")]}, thread_config("second", user_id=user))
        chatbot.wait_for_reflection(graph)
        graph.invoke({"messages": [HumanMessage("I like tea.")]}, thread_config("other", user_id="someone-else"))
        chatbot.wait_for_reflection(graph)
        return chatbot.recalled_block(state)


def test_thread_view_shows_the_recalled_block_the_model_saw(ui: Any, page: Any, shots: Any) -> None:
    block = _chat(ui.redis_url, "maya")
    assert "Porto" in block  # control: the model did see a recalled memory

    page.goto(ui.path("/users/maya/threads"))
    links = page.locator("table a.mono").all_inner_texts()
    assert sorted(links) == ["first", "second"]  # not the other user's thread
    screenshot(page, shots, "threads")

    page.click("text=second")
    recalled = page.locator("#model-input [data-recalled]")
    assert recalled.count() == 1
    assert recalled.locator(".body").inner_text() == block  # exactly what the model saw
    assert "recalled memories" in recalled.inner_text()
    history = page.locator("#history .msg").all_inner_texts()
    assert len(history) == 2 and "Where do I live?" in history[0]
    assert "tok" in page.locator("#model-input h2").inner_text()
    # the input was built before the model's reply: from the first of the thread's two messages
    assert page.locator("#built-from").inner_text() == (
        "Built from the first 1 of the history's 2 messages (later messages, such as the model's reply, came after it).")
    screenshot(page, shots, "thread")

    page.goto(ui.path("/users/someone-else/threads/second"))  # another user's thread is not shown
    assert page.locator("h1").inner_text() == "Not found"


def test_shape_marks_summary_sent_and_recalled_messages() -> None:
    values = {
        "messages": [HumanMessage("one", id="1"), AIMessage("two", id="2"), HumanMessage("three", id="3")],
        "llm_input_messages": [SystemMessage("<memories>x</memories>", id=MEMORY_BLOCK_ID),
                               HumanMessage("three", id="3")],
        "running_summary": {"text": "one, two", "covered_ids": ["1", "2"], "summary_tokens": 4, "updates": 1},
    }
    view = shape_thread("t", values)
    assert [m.marks for m in view.history] == [["summarised"], ["summarised"], ["sent"]]
    assert [m.marks for m in view.model_input] == [["recalled"], []]
    assert view.recalled_block == "<memories>x</memories>"
    assert view.summary["text"] == "one, two"
    assert view.built_from is None  # no stamp
    from langmem_ext.contract import history_stamp

    stamped = shape_thread("t", {**values, "llm_input_source": history_stamp(values["messages"][:2])})
    assert stamped.built_from == 2
    rewritten = shape_thread("t", {**values, "llm_input_source": history_stamp([HumanMessage("gone", id="9")])})
    assert rewritten.built_from is None  # the history changed underneath
    without = shape_thread("t", {"messages": values["messages"]})
    assert without.model_input_is_history and without.recalled_block == ""
    assert [m.marks for m in without.history] == [[], [], []]  # nothing is "sent" twice


def test_list_and_forget_threads_of_one_user(redis_server: str) -> None:
    from langgraph.graph import START, MessagesState, StateGraph

    from langmem_ext.checkpoint import RedisSaver
    from langmem_ext.ui.threads import forget_threads

    with RedisSaver.from_conn_string(redis_server, key_prefix="lt-test") as saver:
        saver.setup()
        builder = StateGraph(MessagesState)
        builder.add_node("echo", lambda s: {"messages": [AIMessage("ok")]})
        builder.add_edge(START, "echo")
        graph = builder.compile(checkpointer=saver)
        for tid, user in (("a", "u1"), ("b|{x}*", "u1"), ("c", "u2")):
            graph.invoke({"messages": [HumanMessage(f"hi {tid}")]}, {"configurable": {"thread_id": tid, "user_id": user}})
        assert sorted(saver.thread_ids()) == ["a", "b|{x}*", "c"]
        assert sorted(t.thread_id for t in list_threads(saver, "u1")) == ["a", "b|{x}*"]
        assert [t.messages for t in list_threads(saver, "u2")] == [2]
        assert thread_view(saver, "c", user_id="u1") is None
        assert thread_view(saver, "c", user_id="u2").history[0].text == "hi c"
        assert thread_view(saver, "missing") is None

        client = saver.client
        before = set(client.scan_iter(match="lt-test:*"))
        gone = forget_threads(saver, "u1")
        assert (gone.deleted, gone.remaining) == (2, 0)
        left = set(client.scan_iter(match="lt-test:*"))
        assert left < before and not any(b"{t:a}" in k or b"{t:b" in k for k in left)
        assert [t.thread_id for t in list_threads(saver, "u2")] == ["c"]  # the other user keeps theirs
        saver.delete_thread("c")
