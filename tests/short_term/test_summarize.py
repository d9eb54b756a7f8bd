import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langmem_ext.short_term import (
    SUMMARY_MESSAGE_ID,
    MessageTokenCounter,
    RunningSummary,
    SummarizationError,
    asummarize_history,
    summarize_history,
)
from tests.short_term._conversations import ScriptedChatModel, assert_valid, conversations, is_subsequence

COUNTER = MessageTokenCounter()


def chat(turns: int, *, start: int = 0) -> list:
    out = []
    for i in range(start, start + turns):
        out += [HumanMessage(f"Turn {i}: my favourite number is {i}. " * 3, id=f"h{i}"),
                AIMessage(f"Noted that {i} is your favourite number. " * 3, id=f"a{i}")]
    return out


def parallel_loop(k: int) -> list:
    calls = [{"name": "lookup", "args": {"n": j}, "id": f"c{k}_{j}"} for j in range(3)]
    return [
        HumanMessage(f"Look up three things, round {k}", id=f"h{k}"),
        AIMessage("", tool_calls=calls, id=f"a{k}"),
        *[ToolMessage(f"value {k}.{j} " * 15, tool_call_id=f"c{k}_{j}", id=f"t{k}_{j}") for j in (2, 0, 1)],
        AIMessage(f"Done round {k}.", id=f"r{k}"),
    ]


def test_summary_follows_the_system_prompt_and_only_new_messages_are_sent():
    model = ScriptedChatModel()
    history = [SystemMessage("sys", id="s"), *chat(10)]
    first = summarize_history(history, model=model, trigger_tokens=400, keep_tokens=150, token_counter=COUNTER)
    assert first.llm_calls == 1 and model.calls == 1
    assert first.messages[0].id == "s" and first.messages[1].id == SUMMARY_MESSAGE_ID
    assert first.messages[1].content.endswith(first.running_summary.text)
    assert "S1:" in first.running_summary.text
    # the next trigger sends only messages not yet covered, plus the previous summary
    history += chat(8, start=10)
    second = summarize_history(history, model=model, running_summary=first.running_summary.model_dump(),
                               trigger_tokens=400, keep_tokens=150, token_counter=COUNTER)
    assert model.calls == 2
    prompt = model.prompts[-1]
    assert first.running_summary.text in prompt
    assert "Turn 0:" not in prompt and "Turn 10:" in prompt
    assert set(first.running_summary.covered_ids) < set(second.running_summary.covered_ids)
    assert second.running_summary.updates == 2


def test_each_trigger_condition_alone():
    history = chat(10)
    by_count = summarize_history(history, trigger_messages=12, keep_messages=4)
    assert len(by_count.messages) == 1 + 4 and by_count.summarized
    by_fraction = summarize_history(history, trigger_fraction=0.5, context_window=800, keep_tokens=100)
    assert by_fraction.summarized and COUNTER(by_fraction.messages) <= 400
    quiet = summarize_history(history, trigger_tokens=100_000)
    assert not quiet.summarized and quiet.messages == history and quiet.running_summary is None


def test_bad_options_fail_early():
    with pytest.raises(ValueError, match="trigger"):
        summarize_history(chat(2))
    with pytest.raises(ValueError, match="keep_tokens"):
        summarize_history(chat(2), trigger_tokens=100, keep_tokens=200)
    with pytest.raises(ValueError, match="context_window"):
        summarize_history(chat(2), trigger_fraction=0.5)


def test_offline_summary_is_extracted_from_the_messages():
    history = [HumanMessage("My daughter Lena starts school in Zurich on 14 August.", id="h0"),
               AIMessage("How exciting for Lena!", id="a0"), *chat(6)]
    result = summarize_history(history, trigger_tokens=250, keep_tokens=80)
    assert result.llm_calls == 0 and result.summarized
    assert "Lena" in result.running_summary.text
    for line in result.running_summary.text.splitlines():  # every line comes from the messages
        said = line.split(": ", 1)[1]
        assert any(said in str(m.content) for m in result.summarized)


def test_parallel_tool_calls_move_into_the_summary_whole():
    """langmem#126 and #98: no orphan and no duplicated ToolMessage after summarising."""
    history = [SystemMessage("sys", id="s")]
    for k in range(6):
        history += parallel_loop(k)
    for keep in range(20, 300, 13):
        out = summarize_history(history, trigger_tokens=350, keep_tokens=keep)
        assert_valid(out.messages)
        ids = [m.id for m in out.messages]
        assert len(ids) == len(set(ids))
        covered = set(out.running_summary.covered_ids)
        for k in range(6):
            group = {f"a{k}", *(f"t{k}_{j}" for j in range(3))}
            assert group <= covered or not (group & covered)


def test_model_failure_falls_back_to_the_extractive_summary(caplog):
    """langchain#38867: the error text must never become the summary; #12: nor may it fail the turn."""
    history = chat(10)
    previous = RunningSummary(text="older facts", covered_ids=["x"])
    before = copy.deepcopy(history)
    offline = summarize_history(history, model=None, running_summary=previous, trigger_tokens=300)
    with caplog.at_level("WARNING", logger="langmem_ext.llm"):
        failed = summarize_history(history, model=ScriptedChatModel(reply="fail"), running_summary=previous,
                                   trigger_tokens=300)
    assert history == before and previous.text == "older facts"
    assert failed.running_summary.text == offline.running_summary.text and "429" not in failed.running_summary.text
    assert failed.running_summary.covered_ids == offline.running_summary.covered_ids
    lines = [r.getMessage() for r in caplog.records if "fell back" in r.getMessage()]
    assert len(lines) == 1 and "summary fell back to the extractive summary" in lines[0] and "429" in lines[0]
    empty = ScriptedChatModel(reply="empty")  # another turn (the failed one spent its budget)
    assert summarize_history(chat(12), model=empty, trigger_tokens=300).running_summary.text
    assert empty.calls == 2  # the empty answer, then the one repair request


def test_prompt_is_overridable_and_summary_is_capped():
    model = ScriptedChatModel()
    result = summarize_history(chat(10), model=model, trigger_tokens=300, max_summary_tokens=8,
                               prompt="Summarise briefly. Before: {existing_summary} New: {messages} ({max_words} words)")
    assert model.prompts[0].startswith("Summarise briefly.")
    assert COUNTER.text_tokens(result.running_summary.text) <= 8


async def test_async_gives_the_same_result():
    history = chat(10)
    sync = summarize_history(history, model=ScriptedChatModel(), trigger_tokens=300)
    async_ = await asummarize_history(history, model=ScriptedChatModel(), trigger_tokens=300)
    assert sync.messages == async_.messages and sync.running_summary == async_.running_summary
    failed = await asummarize_history(history, model=ScriptedChatModel(reply="fail"), trigger_tokens=300)
    assert failed.running_summary.text == summarize_history(history, trigger_tokens=300).running_summary.text


@settings(max_examples=40, deadline=None)
@given(history=conversations(max_turns=10), trigger=st.integers(150, 700))
def test_summarize_properties(history, trigger):
    before = copy.deepcopy(history)
    keep = trigger // 3
    out = summarize_history(history, trigger_tokens=trigger, keep_tokens=keep, max_summary_tokens=60,
                            token_counter=COUNTER)
    assert history == before
    assert is_subsequence(out.messages, history)
    assert_valid(out.messages)
    tail = [m for m in out.messages if m.type != "system"]
    last_turn = history[max(i for i, m in enumerate(history) if m.type == "human"):]
    if COUNTER(last_turn) <= keep:
        assert COUNTER(out.messages) <= trigger
    elif out.summarized:
        assert tail[0] == last_turn[0]  # the request is never summarised away
    again = summarize_history(history, running_summary=out.running_summary, trigger_tokens=trigger,
                              keep_tokens=keep, max_summary_tokens=60, token_counter=COUNTER)
    if COUNTER(out.messages) <= trigger:
        assert again.messages == out.messages and not again.summarized


def test_summary_options_are_checked_once_and_shared_by_node_and_middleware():
    from langmem_ext.short_term import SummarizationNode, SummaryMiddleware
    from langmem_ext.short_term.summarize import summarizer, summary_options

    options = dict(trigger_fraction=0.5, context_window=800, keep_tokens=100, max_summary_tokens=60)
    node = SummarizationNode(**options).summarizer
    middleware = SummaryMiddleware(**options).summarizer
    fields = ("trigger_tokens", "trigger_messages", "keep_tokens", "keep_messages", "max_summary_tokens")
    assert [getattr(node, f) for f in fields] == [getattr(middleware, f) for f in fields] == [400, None, 100, None, 60]
    # max_tokens is the output budget; the token trigger defaults to it, and the smaller trigger wins
    assert summary_options("X", None, prompt="p", max_tokens=300, trigger_fraction=0.5, context_window=800).trigger_tokens == 300
    # the bound summariser gives what summarize_history gives
    history = chat(10)
    s = summarizer(model=None, trigger_tokens=400, keep_tokens=150)
    assert s.run(s.plan(history)).messages == summarize_history(history, trigger_tokens=400, keep_tokens=150).messages
    with pytest.raises(ValueError, match="Give SummaryMiddleware a budget or a trigger: max_tokens="):
        SummaryMiddleware(keep_tokens=10)
    with pytest.raises(ValueError, match="Give SummarizationNode a budget or a trigger"):
        SummarizationNode(context_window=800)
    with pytest.raises(TypeError, match=r"SummarizationNode got unknown option\(s\) \['max_token'\]"):
        SummarizationNode(max_token=100)
    with pytest.raises(ValueError, match="keep_messages"):
        SummaryMiddleware(trigger_messages=4, keep_messages=4)


def test_softened_summarizer_lowers_every_trigger_and_checks_the_keeps():
    from langmem_ext.short_term.summarize import summarizer

    s = summarizer(model=None, trigger_tokens=1000, trigger_messages=20, keep_tokens=300, keep_messages=5)
    soft = s.softened(0.5)
    assert (soft.trigger_tokens, soft.trigger_messages, soft.keep_tokens, soft.keep_messages) == (500, 10, 300, 5)
    assert s.trigger_tokens == 1000  # frozen original untouched
    with pytest.raises(ValueError, match="keep_tokens=300 must be below"):
        s.softened(0.25)
    with pytest.raises(ValueError, match="background_at"):
        s.softened(1.0)
