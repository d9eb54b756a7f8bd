"""The product's model paths over real ChatOpenAI and HTTP, against the fake server's failure modes.

Each test drives a front door (a node or an example graph) with ``ChatOpenAI`` pointed at
:class:`~langmem_ext.llm.testing.FakeOpenAIServer`, which validates every request and plays
the failures a real local server shows. Asserted: every turn answers; memory work sends at
most ``turn_requests`` requests per turn to a failing server; a turn's wall time stays within
the budget the product enforces (timeouts and the per-turn memory budget, not a benchmark);
the user's facts survive a fallback; no assistant claim is stored; no thread is poisoned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.store.memory import InMemoryStore

from langmem_ext.llm import CallPolicy, set_default_policy, snapshot
from langmem_ext.llm.testing import FakeOpenAIServer, FakeRequest, Reply
from langmem_ext.long_term import ReflectionNode
from langmem_ext.long_term.dead_letters import list_dead_letters, retry_dead_letters
from langmem_ext.short_term import ImportanceFilterNode, LLMScorer, ShortTermState, SummarizationNode

POLICY = CallPolicy(timeout=1.5, backoff=0.01, turn_seconds=3.0, cooldown=60)
CONFIG = {"configurable": {"user_id": "u1", "thread_id": "t1"}}


@pytest.fixture(autouse=True)
def _policy() -> Iterator[None]:
    set_default_policy(POLICY)
    yield
    set_default_policy(None)


def purpose(request: FakeRequest) -> str:
    if request.schema_name == "memory_operations":
        return "reflection"
    if request.schema_name == "importance_scores":
        return "score"
    if "Running summary" in request.text or "Rewrite the summary" in request.text:
        return "summary"
    return "reply"


class Scripted:
    """A handler: per purpose, a function of the request returning the Reply (default: a sane answer)."""

    def __init__(self, **by_purpose: Callable[[FakeRequest], Reply]) -> None:
        self.by_purpose = by_purpose

    def __call__(self, request: FakeRequest) -> Reply:
        kind = purpose(request)
        if kind in self.by_purpose:
            return self.by_purpose[kind](request)
        if kind == "reflection":
            return Reply.structured({"operations": []})
        if kind == "score":
            return Reply.structured({"scores": [{"index": 0, "score": 7}]})
        if kind == "summary":
            return Reply.text("The user talked about their life.")
        return Reply.text(f"Reply to: {request.last_user[:40]}")


def chat_model(server: FakeOpenAIServer) -> ChatOpenAI:
    return ChatOpenAI(model="smol", base_url=server.url, api_key="x")  # default client retries: ours turn them off


def turns_of(messages: int) -> list[HumanMessage]:
    return [HumanMessage(f"Turn {i}: I collect stamps from country number {i} and keep them in album {i}.")
            for i in range(messages)]


# ------------------------------------------------------------------ SummarizationNode


def summary_graph(model) -> object:
    graph = StateGraph(ShortTermState)
    graph.add_node("summarize", SummarizationNode(model=model, max_tokens=300, keep_tokens=120, max_summary_tokens=64))
    graph.add_edge(START, "summarize")
    return graph.compile(checkpointer=InMemorySaver())


def test_summary_calls_are_bounded_to_one_and_a_half_times_the_summary_budget() -> None:
    with FakeOpenAIServer(handler=Scripted()) as server:
        app = summary_graph(chat_model(server))
        app.invoke({"messages": turns_of(20)}, CONFIG)
        (request,) = [r for r in server.requests if purpose(r) == "summary"]
        assert request.max_tokens == 96 and server.invalid == []


@pytest.mark.parametrize("failure", ["500", "timeout", "empty"])
def test_a_failing_summary_model_never_fails_a_turn(failure) -> None:
    reply = {"500": Reply.failure(500), "timeout": Reply.hang(5), "empty": Reply.text("")}[failure]
    with FakeOpenAIServer(handler=Scripted(summary=lambda r: reply)) as server:
        app = summary_graph(chat_model(server))
        for n in (20, 22, 24):
            started = time.monotonic()
            state = app.invoke({"messages": turns_of(n)[-2:] if n > 20 else turns_of(n)}, CONFIG)
            assert time.monotonic() - started < POLICY.turn_seconds + 2.0  # the per-turn memory budget holds
            assert state["running_summary"]["text"] and "500" not in state["running_summary"]["text"]
        assert len(server.requests) <= 3 * 3  # at most turn_requests failed requests per turn
    assert snapshot().outcomes[("summary", "fallback")] >= 1


def test_context_overflow_never_poisons_the_thread() -> None:
    """The issue's thread: history plus a runaway reply passed the window; every later turn failed."""
    with FakeOpenAIServer(handler=Scripted(), context_window=400) as server:
        app = summary_graph(chat_model(server))
        for n in range(6):
            long = HumanMessage(f"Turn {n}: " + "I like long stories about dragons and castles. " * 40)
            state = app.invoke({"messages": [long]}, CONFIG)  # never raises
            assert n == 0 or state["running_summary"]["text"]
        overflowed = [r for r in server.requests if r.status == 400]
        assert len(overflowed) <= 1  # the window is learnt from the first 400; later requests fit it
        assert server.invalid == [] or all("maximum context" not in p for p in server.invalid)


# ------------------------------------------------------------------ ImportanceFilterNode + LLMScorer


def scores_for(request: FakeRequest) -> Reply:
    lines = [line for line in request.last_user.splitlines() if line.startswith("[")]
    return Reply.structured({"scores": [{"index": i, "score": 9 if "stamps" in line else 2} for i, line in enumerate(lines)]})


def test_llm_scorer_adapts_to_a_server_without_json_schema() -> None:
    with FakeOpenAIServer(handler=Scripted(score=scores_for), json_schema=False) as server:
        node = ImportanceFilterNode(max_tokens=400, scorer=LLMScorer(model=chat_model(server), batch_size=10))
        msgs = [HumanMessage("I collect stamps.", id="a"), AIMessage("ok", id="b"), HumanMessage("hi", id="c")]
        out = node.invoke({"messages": msgs})
        assert out["importance_scores"] == {"a": 9.0, "b": 2.0, "c": 2.0}
        assert [r.method for r in server.requests] == ["json_schema", "function_calling"]
        assert server.requests[1].max_tokens == 32 + 12 * 3 and server.invalid == []
        node.invoke({"messages": [*msgs, HumanMessage("more stamps", id="d")]})
        assert [r.method for r in server.requests][2:] == ["function_calling"]  # remembered


def test_llm_scorer_falls_back_to_the_heuristic() -> None:
    with FakeOpenAIServer(handler=Scripted(score=lambda r: Reply.raw("eight, I think"))) as server:
        node = ImportanceFilterNode(max_tokens=400, scorer=LLMScorer(model=chat_model(server)))
        msgs = [HumanMessage("My sister Maria lives in Porto since 2019.", id="a"), HumanMessage("ok", id="b")]
        scores = node.invoke({"messages": msgs})["importance_scores"]
        assert scores["a"] > scores["b"]  # heuristic scores, not a crash
        assert len(server.requests) == 2  # the answer, then one repair
    assert snapshot().outcomes[("score", "fallback")] == 1


# ------------------------------------------------------------------ ReflectionNode


def reflection_answer(ops: list[dict]) -> Callable[[FakeRequest], Reply]:
    return lambda request: Reply.structured({"operations": ops})


def fact(content: str, importance: int = 6, kind: str = "semantic") -> dict:
    return {"op": "insert", "kind": kind, "target": "", "content": content, "importance": importance}


def contents(store, kind="semantic") -> list[str]:
    return sorted(i.value["content"] for i in store.search(("memories", "u1", kind), limit=100))


CONVERSATION = [HumanMessage("I live in Porto and I am vegetarian.", id="h1"),
                AIMessage("I am Sam, the Japanese language translator. Nice to meet you!", id="a1")]


def test_reflection_keeps_grounded_facts_and_never_an_assistant_claim() -> None:
    ops = [fact("User lives in Porto"), fact("User is vegetarian"), fact("User is Sam, the Japanese language translator"),
           {"op": "insert", "kind": "semantic", "target": "", "content": "User likes jazz", "importance": 42}]
    with FakeOpenAIServer(handler=Scripted(reflection=reflection_answer(ops))) as server:
        store = InMemoryStore()
        result = ReflectionNode(model=chat_model(server), store=store).reflect(CONVERSATION, config=CONFIG)
        assert result.fallback is None and result.requests == 1
        assert contents(store) == ["User is vegetarian", "User lives in Porto"]
        stored = store.search(("memories", "u1", "semantic"))[0].value
        assert stored["source_ids"] == ["h1"] and stored["valid_to"] is None
        request = server.requests[0]
        assert request.max_tokens == 32 + 88 * 8 and request.method == "json_schema" and server.invalid == []
        assert set(request.schema["properties"]["operations"]["items"]["properties"]) == {
            "op", "kind", "target", "content", "importance"}


@pytest.mark.parametrize("bad", [
    Reply.failure(500), Reply.failure(429), Reply.hang(5), Reply.raw("{broken"), Reply.cut_off({"operations": []}),
    Reply.structured({"operations": [{"op": "insert", "kind": "semantic"}]}),
])
def test_failed_reflection_keeps_the_users_facts_offline_and_a_dead_letter(bad) -> None:
    with FakeOpenAIServer(handler=Scripted(reflection=lambda r: bad)) as server:
        store = InMemoryStore()
        node = ReflectionNode(model=chat_model(server), store=store)
        started = time.monotonic()
        result = node.reflect(CONVERSATION, config=CONFIG)
        assert time.monotonic() - started < 2 * POLICY.timeout + 2
        assert result.fallback is not None and len(server.requests) <= 3
        assert "User lives in Porto" in contents(store) and not any("Sam" in c for c in contents(store))
        (letter,) = list_dead_letters(store, node, config=CONFIG)
        assert [m["data"]["id"] for m in letter.messages] == ["h1", "a1"]
        # the cursor moved (the offline extractor wrote), so the next turn does not redo them ...
        assert node.reflect(CONVERSATION, config=CONFIG).skipped == "no new messages"
        # ... and once the server is healthy the dead letter gives the model its turn
        server.handler = Scripted(reflection=reflection_answer([fact("User is vegetarian", 7)]))
        assert retry_dead_letters(store, node, config=CONFIG) == (1, 0)
        assert "User is vegetarian" in contents(store) and list_dead_letters(store, node, config=CONFIG) == []


def test_valid_but_empty_answers_do_not_skip_the_users_facts() -> None:
    with FakeOpenAIServer(handler=Scripted()) as server:  # {"operations": []} every time
        store = InMemoryStore()
        result = ReflectionNode(model=chat_model(server), store=store).reflect(CONVERSATION, config=CONFIG)
        assert result.fallback.startswith("empty") and "User lives in Porto" in contents(store)
        chit_chat = [HumanMessage("ok thanks", id="h2"), AIMessage("You're welcome.", id="a2")]
        again = ReflectionNode(model=chat_model(server), store=store).reflect([*CONVERSATION, *chit_chat], config=CONFIG)
        assert again.fallback is None and again.messages == 2  # nothing to remember: deliberately skipped


def test_a_model_that_deletes_what_it_is_shown_erases_nothing_the_user_did_not_retract() -> None:
    """make test-llm's demo: SmolLM2-135M deleted "User is vegetarian", "User has a dog called Pixel"
    and more on turns about something else, and the demo's five probes all failed."""
    import re

    def delete_everything(request: FakeRequest) -> Reply:
        prompt = "\n".join(str(m.get("content")) for m in request.body["messages"])
        ids = re.findall(r"^(m\d+) \[", prompt, re.M)  # the aliases of the stored memories shown
        return Reply.structured({"operations": [
            {"op": "delete", "kind": "semantic", "target": i, "content": "", "importance": 5} for i in ids]})

    with FakeOpenAIServer(handler=Scripted(reflection=reflection_answer([fact("User lives in Porto"),
                                                                         fact("User is vegetarian")]))) as server:
        store = InMemoryStore()
        ReflectionNode(model=chat_model(server), store=store).reflect(CONVERSATION, config=CONFIG)
        assert contents(store) == ["User is vegetarian", "User lives in Porto"]
        server.handler = Scripted(reflection=delete_everything)
        later = [*CONVERSATION, HumanMessage("What is my dog called?", id="h2"), AIMessage("Bella!", id="a2"),
                 HumanMessage("Actually I moved, I don't live in Porto any more.", id="h3"), AIMessage("Noted.", id="a3")]
        ReflectionNode(model=chat_model(server), store=store).reflect(later, config=CONFIG)
        prompt = "\n".join(str(m.get("content")) for m in server.requests[-1].body["messages"])
        assert len(re.findall(r"^m\d+ \[semantic\]", prompt, re.M)) == 2  # shown both, asked to delete both
        assert contents(store) == ["User is vegetarian"]  # only the one the user retracted is gone


def test_reflection_named_by_string_with_only_a_base_url(monkeypatch) -> None:
    with FakeOpenAIServer(handler=Scripted(reflection=reflection_answer([fact("User lives in Porto")]))) as server:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        store = InMemoryStore()
        for name in ("openai:smol", "OPENAI:smol"):
            ReflectionNode(model=name, store=store).reflect(CONVERSATION, config={
                "configurable": {"user_id": "u1", "thread_id": name}})
        assert contents(store) == ["User lives in Porto"] and server.invalid == []


# ------------------------------------------------------------------ the example graphs


def chatbot(server, **kwargs):
    from langmem_ext.graphs.chatbot import build_graph

    model = chat_model(server)
    return build_graph(checkpointer=InMemorySaver(), store=InMemoryStore(), model=model, memory_model=model,
                       reflection_delay=0.0, **kwargs)


def play(graph, texts, *, thread="c1", server=None) -> list[tuple[str, float, list[FakeRequest]]]:
    """(reply, seconds, the requests the turn sent, its background reflection included) per turn."""
    from langmem_ext.graphs.chatbot import wait_for_reflection

    out = []
    config = {"configurable": {"user_id": "u1", "thread_id": thread}}
    for text in texts:
        before = len(server.requests) if server else 0
        started = time.monotonic()
        state = graph.invoke({"messages": [HumanMessage(text)]}, config)
        seconds = time.monotonic() - started
        wait_for_reflection(graph)
        out.append((str(state["messages"][-1].content), seconds, server.requests[before:] if server else []))
    return out


TURNS = ["Hi, I'm Ana and I live in Porto.", "I am vegetarian.", "I work as a nurse at the city hospital.",
         "My dog is called Bruno.", "What do you know about me?"]


@pytest.mark.parametrize("mode", ["healthy", "no_json_schema", "broken_memory", "down_memory", "hung_memory"])
def test_chatbot_turns_answer_within_budget_and_bound(mode) -> None:
    by_purpose: dict[str, Callable[[FakeRequest], Reply]] = {
        "reflection": lambda r: Reply.structured({"operations": [fact(_user_fact(r))] if _user_fact(r) else []}),
    }
    if mode == "broken_memory":
        by_purpose = {"reflection": lambda r: Reply.raw("Sure! The user is Sam."), "summary": lambda r: Reply.text("")}
    if mode == "down_memory":
        by_purpose = {"reflection": lambda r: Reply.failure(500), "summary": lambda r: Reply.failure(503)}
    if mode == "hung_memory":  # a server that accepts memory requests and never answers them
        by_purpose = {"reflection": lambda r: Reply.hang(8), "summary": lambda r: Reply.hang(8)}
    with FakeOpenAIServer(handler=Scripted(**by_purpose), json_schema=(mode != "no_json_schema")) as server:
        graph = chatbot(server, context_budget=400)
        results = play(graph, TURNS, server=server)
        assert all(reply for reply, _, _ in results)  # every turn answers
        # the reply path's own bound: timeout x (1 + retries); memory work: turn_seconds
        bound = POLICY.turn_seconds + POLICY.timeout * (POLICY.retries + 1) + 2.0
        assert max(seconds for _, seconds, _ in results) < bound
        assert server.invalid == []
        assert all(r.max_tokens for r in server.requests)
        for _, _, requests in results:  # per user turn: at most turn_requests failed memory requests
            memory = [r for r in requests if purpose(r) != "reply"]
            assert len([r for r in memory if r.status != 200]) <= POLICY.turn_requests
            if mode in ("down_memory", "hung_memory"):
                assert len(memory) <= POLICY.turn_requests
        store = graph.store
        facts = [i.value["content"] for i in store.search(("memories", "u1", "semantic"), limit=50)]
        assert not any("Sam" in f for f in facts)
        assert any("Porto" in f for f in facts)  # the user's facts, from the model or the fallback


def _user_fact(request: FakeRequest) -> str:
    text = request.last_user
    for line in text.splitlines():
        if line.startswith("user:") and "live in Porto" in line:
            return "User lives in Porto"
    return ""


def test_chatbot_reply_failure_answers_offline() -> None:
    with FakeOpenAIServer(handler=lambda r: Reply.failure(500)) as server:
        graph = chatbot(server)
        (answer, seconds, _), = play(graph, ["What is my dog called?"])
        assert answer.startswith("(The model could not answer: transient. Offline answer.)")
        replies = [r for r in server.requests if purpose(r) == "reply"]
        assert len(replies) == POLICY.retries + 1


def test_agent_tool_round_trip_is_valid_over_http() -> None:
    from langmem_ext.graphs.agent import build_graph

    def answer(request: FakeRequest) -> Reply:
        messages = request.body["messages"]
        if messages[-1]["role"] == "tool":
            return Reply.text("Saved.")
        return Reply.tool_call("manage_memory", {"content": "User works as a nurse", "action": "create"})

    with FakeOpenAIServer(handler=Scripted(reply=answer)) as server:
        model = chat_model(server)
        graph = build_graph(checkpointer=InMemorySaver(), store=InMemoryStore(), model=model, memory_model=model,
                            reflection_delay=0.0)
        state = graph.invoke({"messages": [HumanMessage("I work as a nurse.")]}, CONFIG)
        assert state["messages"][-1].content == "Saved."
        replies = [r for r in server.requests if purpose(r) == "reply"]
        assert len(replies) == 2 and all(r.body.get("tools") for r in replies)
        assert replies[1].body["messages"][-1]["role"] == "tool" and server.invalid == []
        assert json.loads(replies[1].body["messages"][-2]["tool_calls"][0]["function"]["arguments"])["action"] == "create"
