from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langmem_ext.short_term.messages import group_units, history_problems, split_head
from langmem_ext.short_term.summarize import summary_message


def call(*ids: str, mid: str = "a") -> AIMessage:
    return AIMessage("", id=mid, tool_calls=[{"name": "f", "args": {}, "id": i} for i in ids])


def test_parallel_results_in_any_order_form_one_group():
    msgs = [HumanMessage("q"), call("c1", "c2"), ToolMessage("2", tool_call_id="c2"), ToolMessage("1", tool_call_id="c1")]
    units = group_units(msgs)
    assert [(u.kind, u.indices, u.complete) for u in units] == [("human", (0,), True), ("tool_group", (1, 2, 3), True)]


def test_missing_result_and_orphans_are_reported():
    msgs = [HumanMessage("q"), call("c1", "c2"), ToolMessage("1", tool_call_id="c1"), AIMessage("x"),
            ToolMessage("stray", tool_call_id="zz")]
    kinds = [(u.kind, u.complete) for u in group_units(msgs)]
    assert kinds == [("human", True), ("tool_group", False), ("ai", True), ("orphan_tool", True)]
    problems = history_problems(msgs)
    assert any("without results" in p for p in problems) and any("no call" in p for p in problems)


def test_pending_call_at_the_end_is_allowed_only_when_asked():
    msgs = [HumanMessage("q"), call("c1")]
    assert history_problems(msgs) == []
    assert history_problems(msgs, allow_pending=False)


def test_head_includes_the_summary_and_a_late_system_message_is_a_problem():
    msgs = [SystemMessage("p"), summary_message("s"), HumanMessage("q"), SystemMessage("late")]
    head, rest = split_head(msgs)
    assert len(head) == 2 and len(rest) == 2
    assert any("not at the start" in p for p in history_problems(msgs))
