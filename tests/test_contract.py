"""The node contract (langmem_ext.contract): every memory node, in any order, on any state.

The acceptance matrix: RecallNode, TrimNode, SummarizationNode and ImportanceFilterNode in
every order (all 24 permutations and every ordered subset, 64 chains) in front of a model
node that reads ``model_input(state)``, on LangGraph's ``MessagesState`` and on our
``ShortTermState``. In each chain, over two turns of a thread whose history is far over
the budgets:

* the model sees the fact recalled from another thread (when RecallNode is in the chain);
* all system content leads the model input (one system message, first);
* the budget of the last node holds for the whole model input, memory block included;
* ``messages`` holds only what was said;
* the second turn's model input is built from the second turn (no stale input reused).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.store.memory import InMemoryStore

from langmem_ext import model_input
from langmem_ext.contract import MODEL_INPUT_KEY, MemoryState, history_stamp, merge_system, source_key
from langmem_ext.long_term import RecallNode, ReflectionNode, SemanticMemory, put_memories
from langmem_ext.long_term.testing import HASH_DIMS, hash_embed
from langmem_ext.short_term import (
    DeletionNode,
    ImportanceFilterNode,
    MessageTokenCounter,
    ShortTermState,
    SummarizationNode,
    TrimNode,
)

COUNTER = MessageTokenCounter()
FACT = "User is allergic to peanuts"
BUDGETS = {"trim": 420, "filter": 480, "summarize": 560}
NODES = ("recall", "trim", "summarize", "filter")
CHAINS = [order for k in range(1, 5) for order in itertools.permutations(NODES, k)]
SYSTEM_PROMPT = "You are a careful assistant. Answer in one sentence."


def make_node(kind: str) -> Any:
    if kind == "recall":
        return RecallNode(max_tokens=120, reinforce="off", rules_ttl=0)
    if kind == "trim":
        return TrimNode(max_tokens=BUDGETS["trim"], token_counter=COUNTER)
    if kind == "summarize":
        return SummarizationNode(model=None, max_tokens=BUDGETS["summarize"], keep_tokens=160, max_summary_tokens=80,
                                 token_counter=COUNTER)
    return ImportanceFilterNode(max_tokens=BUDGETS["filter"], token_counter=COUNTER)


def filler(turn: int) -> list[BaseMessage]:
    """A long stretch of conversation with no first-person facts (nothing to recall from it)."""
    out: list[BaseMessage] = []
    for i in range(9):
        out += [HumanMessage(f"Turn {turn}.{i}: tell me something about the history of the number {i} "
                             "and why mathematicians of the past found it so curious."),
                AIMessage(f"The number {i} appears in many old tables; scholars studied its properties at "
                          "length and wrote long commentaries about it.")]
    return out


@pytest.fixture(scope="module")
def memory_store() -> InMemoryStore:
    """What thread one taught, already in the store (the reflection path has its own tests)."""
    store = InMemoryStore(index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]})
    put_memories(store, ("memories", "u1", "semantic"), [SemanticMemory(content=FACT)])
    return store


def build(order: tuple[str, ...], state: type, seen: list[list[BaseMessage]], store: InMemoryStore) -> Any:
    def model(state: MessagesState) -> dict[str, Any]:  # typed with plain MessagesState, on purpose
        given = model_input(state)
        seen.append(given)
        return {"messages": [AIMessage(f"reply {len(seen)}")]}

    builder = StateGraph(state)
    for kind in order:
        builder.add_node(kind, make_node(kind))
    builder.add_node("model", model)
    for a, b in zip((START, *order), (*order, "model")):
        builder.add_edge(a, b)
    builder.add_edge("model", END)
    return builder.compile(checkpointer=InMemorySaver(), store=store)


@pytest.mark.parametrize("state", [MessagesState, ShortTermState], ids=["MessagesState", "ShortTermState"])
@pytest.mark.parametrize("order", CHAINS, ids=["-".join(o) for o in CHAINS])
def test_every_order_on_every_state(order: tuple[str, ...], state: type, memory_store: InMemoryStore) -> None:
    seen: list[list[BaseMessage]] = []
    graph = build(order, state, seen, memory_store)
    config = {"configurable": {"thread_id": "t2", "user_id": "u1"}}
    said: list[BaseMessage] = [SystemMessage(SYSTEM_PROMPT, id="sys"), *filler(1), HumanMessage("What am I allergic to?")]
    out = graph.invoke({"messages": said}, config)
    second = [*filler(2), HumanMessage("And which food should I avoid at the party tonight?")]
    out = graph.invoke({"messages": second}, config)
    said += [AIMessage("reply 1"), *second, AIMessage("reply 2")]

    # messages holds only what was said
    assert [(m.type, m.content) for m in out["messages"]] == [(m.type, m.content) for m in said]
    for turn, given in enumerate(seen, start=1):
        # all system content leads: one system message, first, holding the system prompt
        assert given[0].type == "system" and given[0].content.startswith(SYSTEM_PROMPT)
        assert all(m.type != "system" for m in given[1:])
        # the model sees the question of this turn (never a stale input of the turn before)
        assert given[-1].content == said[-2 if turn == 2 else len(filler(1)) + 1].content
        if "recall" in order:  # the model sees the recalled fact
            assert FACT in given[0].content
        if order[-1] != "recall":  # the last budgeted node's budget holds for the whole input
            assert COUNTER(given) <= BUDGETS[order[-1]]
    # the history was over every budget from the first turn: the chain had something to do
    assert COUNTER(said[: len(filler(1)) + 2]) > max(BUDGETS.values())


def test_the_matrix_covers_every_permutation_and_subset() -> None:
    assert len([o for o in CHAINS if len(o) == 4]) == 24 and len(CHAINS) == 64


def test_nodes_declare_their_keys_so_messages_state_gets_the_channels() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("trim", TrimNode(max_tokens=100))
    builder.add_node("filter", ImportanceFilterNode(max_tokens=100, scores_key="my_scores"))
    builder.add_node("summarize", SummarizationNode(model=None, max_tokens=100, summary_key="my_summary"))
    channels = set(builder.channels)
    assert {"messages", MODEL_INPUT_KEY, source_key(MODEL_INPUT_KEY), "my_scores", "my_summary"} <= channels


def test_a_model_node_typed_with_messages_state_reads_the_model_input() -> None:
    seen = []

    def model(state: MessagesState) -> dict[str, Any]:
        assert set(state) == {"messages"}  # LangGraph hands this node only its own keys ...
        seen.append(model_input(state))  # ... and model_input reads the prepared input anyway
        return {"messages": [AIMessage("ok")]}

    builder = StateGraph(MessagesState)
    builder.add_node("trim", TrimNode(max_tokens=60))
    builder.add_node("model", model)
    builder.add_edge(START, "trim")
    builder.add_edge("trim", "model")
    out = builder.compile().invoke({"messages": [HumanMessage("old " * 80), AIMessage("x"), HumanMessage("new")]})
    assert [m.content for m in seen[0]] == ["new"] and len(out["messages"]) == 4


def test_a_tool_loop_rebuilds_the_model_input_for_every_model_call() -> None:
    """A tool result changes the history: the next pass starts from the history, not the old input."""
    seen: list[list[BaseMessage]] = []

    def model(state: MessagesState) -> dict[str, Any]:
        seen.append(model_input(state))
        if len(seen) == 1:
            return {"messages": [AIMessage("", tool_calls=[{"name": "lookup", "args": {}, "id": "c1"}])]}
        return {"messages": [AIMessage("done")]}

    def tools(state: MessagesState) -> dict[str, Any]:
        return {"messages": [ToolMessage("42", tool_call_id="c1")]}

    builder = StateGraph(MessagesState)
    builder.add_node("trim", TrimNode(max_tokens=500))
    builder.add_node("model", model)
    builder.add_node("tools", tools)
    builder.add_edge(START, "trim")
    builder.add_edge("trim", "model")
    builder.add_conditional_edges("model", lambda s: "tools" if s["messages"][-1].tool_calls else END, ["tools", END])
    builder.add_edge("tools", "trim")
    builder.compile().invoke({"messages": [HumanMessage("What is the answer?")]})
    assert [m.type for m in seen[1]] == ["human", "ai", "tool"]


def test_without_a_memory_node_this_turn_the_model_gets_the_history() -> None:
    history = [HumanMessage("a", id="1"), AIMessage("b", id="2"), HumanMessage("c", id="3")]
    stale = {"messages": history, MODEL_INPUT_KEY: [HumanMessage("a", id="1")],
             source_key(MODEL_INPUT_KEY): history_stamp(history[:1])}
    assert model_input(stale) == history
    assert model_input({"messages": history}) == history
    with pytest.raises(KeyError, match="input_messages_key"):
        model_input({"msgs": history})


def test_model_input_merges_all_leading_system_content_into_one_message() -> None:
    view = [SystemMessage("sys"), SystemMessage("memories"), SystemMessage("summary"), HumanMessage("hi")]
    merged = model_input({"messages": view}, "prompt")
    assert [m.type for m in merged] == ["system", "human"] and merged[0].content == "prompt\n\nsys\n\nmemories\n\nsummary"
    blocks = merge_system([SystemMessage([{"type": "text", "text": "a"}]), SystemMessage("b"), HumanMessage("c")])
    assert blocks[0].content == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]


def test_deletion_node_keeps_an_earlier_model_input_current() -> None:
    seen = []

    def model(state: MessagesState) -> dict[str, Any]:
        seen.append(model_input(state))
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("trim", TrimNode(max_tokens=400))
    builder.add_node("delete", DeletionNode(ids=["h1", "a1"]))
    builder.add_node("model", model)
    builder.add_edge(START, "trim")
    builder.add_edge("trim", "delete")
    builder.add_edge("delete", "model")
    history = [SystemMessage("sys", id="s"), HumanMessage("one", id="h1"), AIMessage("uno", id="a1"),
               HumanMessage("two", id="h2")]
    out = builder.compile().invoke({"messages": history})
    assert [m.id for m in out["messages"]] == ["s", "h2"]
    assert [m.content for m in seen[0]] == ["sys", "two"]  # trim's input, minus the deleted messages


def test_reflection_node_can_clear_the_model_input_after_the_turn() -> None:
    store = InMemoryStore()
    node = ReflectionNode(model=None, store=store, output_messages_key=MODEL_INPUT_KEY)
    update = node.invoke({"messages": [HumanMessage("I live in Oslo.", id="1")]},
                         {"configurable": {"user_id": "u", "thread_id": "t"}})
    assert update == {MODEL_INPUT_KEY: None, source_key(MODEL_INPUT_KEY): None}
    assert ReflectionNode(model=None, store=store).invoke({"messages": [HumanMessage("x", id="2")]},
                                                          {"configurable": {"user_id": "u", "thread_id": "t"}}) == {}


def test_the_user_comes_from_the_runtime_context_as_well_as_configurable() -> None:
    from dataclasses import dataclass

    @dataclass
    class Context:
        user_id: str

    store = InMemoryStore(index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]})
    seen = []

    def model(state: MessagesState) -> dict[str, Any]:
        seen.append(model_input(state))
        return {"messages": [AIMessage("ok")]}

    builder = StateGraph(MessagesState, context_schema=Context)
    builder.add_node("recall", RecallNode(reinforce="off"))
    builder.add_node("model", model)
    builder.add_node("reflect", ReflectionNode(model=None))
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "model")
    builder.add_edge("model", "reflect")
    graph = builder.compile(store=store, checkpointer=InMemorySaver())
    graph.invoke({"messages": [HumanMessage("I am allergic to peanuts.")]},
                 {"configurable": {"thread_id": "1"}}, context=Context(user_id="ctx-user"))
    assert [i.value["content"] for i in store.search(("memories", "ctx-user", "semantic"))] == [FACT]
    graph.invoke({"messages": [HumanMessage("What am I allergic to?")]},
                 {"configurable": {"thread_id": "2"}}, context={"user_id": "ctx-user"})
    assert FACT in seen[-1][0].content


def test_memory_state_is_messages_state_plus_the_model_input() -> None:
    assert set(MemoryState.__annotations__) >= {"messages", MODEL_INPUT_KEY, source_key(MODEL_INPUT_KEY)}
    assert issubclass(ShortTermState, dict) and {"running_summary", "importance_scores"} <= set(ShortTermState.__annotations__)
