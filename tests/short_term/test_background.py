import threading

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langmem_ext.short_term import SUMMARY_MESSAGE_ID, MessageTokenCounter, SummarizationError, SummarizationNode
from tests.short_term._conversations import ScriptedChatModel

COUNTER = MessageTokenCounter()
CFG = {"configurable": {"thread_id": "t1"}}


class GatedModel(ScriptedChatModel):
    """A summariser that blocks until the test opens the gate."""

    model_config = {"arbitrary_types_allowed": True}
    gate: threading.Event
    started: threading.Event

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.started.set()
        assert self.gate.wait(10), "the test never opened the gate"
        return super()._generate(messages, stop, run_manager, **kwargs)


def chat(n, start=0):
    out = []
    for i in range(start, start + n):
        out += [HumanMessage(f"I planted {i} tulips in the garden today. " * 2, id=f"h{i}"),
                AIMessage(f"Lovely, {i} tulips!", id=f"a{i}")]
    return out


def gated(**kw):
    model = GatedModel(gate=threading.Event(), started=threading.Event(), **kw)
    node = SummarizationNode(model=model, max_tokens=600, keep_tokens=150, background=True, background_at=0.5)
    return model, node


def test_summary_runs_off_the_request_path_and_lands_on_a_later_turn():
    model, node = gated()
    state = {"messages": chat(8)}  # between the soft (300) and the hard (600) threshold
    assert 300 < COUNTER(state["messages"]) < 600
    first = node.invoke(state, CFG)  # returns while the model is still blocked
    assert model.started.wait(5) and not model.gate.is_set()
    assert "running_summary" not in first and first["llm_input_messages"] == state["messages"]
    model.gate.set()
    node.jobs._jobs["t1"].future.result(timeout=10)
    second = node.invoke(state, CFG)
    assert second["running_summary"]["updates"] == 1 and model.calls == 1
    assert second["llm_input_messages"][0].id == SUMMARY_MESSAGE_ID
    state["running_summary"] = second["running_summary"]
    assert "running_summary" not in node.invoke(state, CFG) and model.calls == 1  # applied once
    other = node.invoke({"messages": chat(8)}, {"configurable": {"thread_id": "t2"}})
    assert "running_summary" not in other  # jobs are per thread


def test_reaching_the_hard_trigger_waits_for_the_pending_summary():
    model, node = gated()
    state = {"messages": chat(8)}
    node.invoke(state, CFG)
    assert model.started.wait(5)
    state = {"messages": chat(16)}  # now over the hard trigger while the job is pending
    threading.Timer(0.2, model.gate.set).start()
    out = node.invoke(state, CFG)
    assert out["running_summary"]["updates"] >= 1
    assert COUNTER(out["llm_input_messages"]) <= 600


async def test_async_background_and_a_failed_call_falls_back():
    model = ScriptedChatModel(reply="fail")
    node = SummarizationNode(model=model, max_tokens=600, keep_tokens=150, background=True, background_at=0.5)
    state = {"messages": chat(8)}
    first = await node.ainvoke(state, CFG)
    assert "running_summary" not in first
    fallback = node.jobs._jobs["t1"].future.result(timeout=10)  # the model failed: the extractive summary
    assert fallback.summarized and "429" not in fallback.running_summary.text
    assert (await node.ainvoke(state, CFG))["running_summary"]["updates"] == 1
    ok = SummarizationNode(model=ScriptedChatModel(), max_tokens=600, keep_tokens=150, background=True, background_at=0.5)
    await ok.ainvoke(state, CFG)
    ok.jobs._jobs["t1"].future.result(timeout=10)
    assert (await ok.ainvoke(state, CFG))["running_summary"]["updates"] == 1


def test_background_options_are_checked():
    with pytest.raises(ValueError, match="background_at"):
        SummarizationNode(max_tokens=600, background=True, background_at=1.5)
    with pytest.raises(ValueError, match="keep_tokens"):
        SummarizationNode(max_tokens=600, keep_tokens=400, background=True, background_at=0.5)
