import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langmem_ext.short_term import ContextBudgetError, HeuristicScorer, LLMScorer, MessageTokenCounter, build_context
from langmem_ext.messages import message_key
from tests.short_term._conversations import ScriptedChatModel, assert_valid, conversations, is_subsequence

COUNTER = MessageTokenCounter()


def test_heuristic_ranks_facts_over_small_talk():
    scorer = HeuristicScorer()
    msgs = [HumanMessage("lol"), HumanMessage("the weather is fine"), HumanMessage("My wife Anna is allergic to peanuts."),
            HumanMessage("I'll call the dentist on Friday at 10."), AIMessage("ok")]
    s = scorer.score(msgs)
    assert s[2] > s[1] > s[0] and s[3] > s[1] and s[4] == 1.0
    assert all(1 <= x <= 10 for x in s)


def test_an_answer_to_a_question_scores_higher():
    q = HumanMessage("What time does the pharmacy close?")
    assert HeuristicScorer().score([AIMessage("It closes at nine")], history=[q])[0] > \
        HeuristicScorer().score([AIMessage("It closes at nine")], history=[HumanMessage("Tell me something")])[0]


def test_novelty_with_passed_in_embeddings():
    def embed(texts):  # bag of characters: repeated text is not novel
        return [[t.count(c) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts]

    scorer = HeuristicScorer(embed=embed)
    repeated = HumanMessage("we went hiking by the lake")
    new = HumanMessage("quantum zebra xylophone jazz")
    assert scorer.score([new], history=[repeated])[0] > HeuristicScorer().score([new])[0]
    assert scorer.score([repeated], history=[repeated])[0] == pytest.approx(HeuristicScorer().score([repeated])[0], abs=0.01)


def test_llm_scorer_batches_and_fills_gaps():
    model = ScriptedChatModel(structured=lambda prompt: {"scores": [{"index": 0, "score": 9}]})
    scorer = LLMScorer(model=model, batch_size=2)
    out = scorer.score([HumanMessage(str(i)) for i in range(5)])
    assert out == [9.0, 5.0, 9.0, 5.0, 9.0] and model.calls == 3
    assert "[1] User: 3" in model.prompts[1]


def conversation():
    msgs = [SystemMessage("sys", id="s")]
    facts = {3: "My son Theo was born on 2 May 2016.", 7: "I am allergic to penicillin."}
    for i in range(12):
        msgs += [HumanMessage(facts.get(i, f"random chatter number {i} " * 4), id=f"h{i}"),
                 AIMessage(f"reply {i} " * 4, id=f"a{i}")]
    return msgs


def test_budget_goes_to_the_best_older_turns_in_order():
    msgs = conversation()
    scores = {message_key(m): s for m, s in zip(msgs, HeuristicScorer().score(msgs))}
    out = build_context(msgs, scores=scores, max_tokens=170, keep_last_turns=2, token_counter=COUNTER)
    ids = [m.id for m in out]
    assert ids[0] == "s" and ids[-4:] == ["h10", "a10", "h11", "a11"]
    assert "h7" in ids and "h3" in ids and "h5" not in ids
    assert ids == sorted(ids, key=[m.id for m in msgs].index)
    assert COUNTER(out) <= 170
    assert_valid(out)


def test_relevance_to_the_question_pulls_matching_turns():
    msgs = conversation() + [HumanMessage("When was Theo born?", id="hq")]
    flat = {message_key(m): 5.0 for m in msgs}
    plain = build_context(msgs, scores=flat, max_tokens=80, keep_last_turns=1, token_counter=COUNTER)
    lexical = build_context(msgs, scores=flat, max_tokens=80, keep_last_turns=1, relevance="lexical", token_counter=COUNTER)
    assert "h3" not in {m.id for m in plain} and "h3" in {m.id for m in lexical}
    with pytest.raises(ValueError, match="embed"):
        build_context(msgs, scores=flat, max_tokens=80, relevance="embedding")


def test_recent_turns_over_budget_are_trimmed_and_bad_budgets_raise():
    msgs = conversation()
    out = build_context(msgs, scores={}, max_tokens=60, keep_last_turns=3, token_counter=COUNTER)
    assert [m.id for m in out] == ["s", "h11", "a11"]
    with pytest.raises(ContextBudgetError):
        build_context(msgs, scores={}, max_tokens=5, token_counter=COUNTER)
    with pytest.raises(ValueError, match="keep_last_turns"):
        build_context(msgs, scores={}, max_tokens=100, keep_last_turns=0)


@settings(max_examples=40, deadline=None)
@given(history=conversations(), budget=st.integers(60, 600), k=st.integers(1, 3),
       relevance=st.sampled_from(["none", "lexical"]))
def test_build_context_properties(history, budget, k, relevance):
    before = copy.deepcopy(history)
    scores = {message_key(m): s for m, s in zip(history, HeuristicScorer().score(history))}
    try:
        out = build_context(history, scores=scores, max_tokens=budget, keep_last_turns=k, relevance=relevance,
                            token_counter=COUNTER)
    except ContextBudgetError:
        return
    assert history == before
    assert COUNTER(out) <= budget
    assert is_subsequence(out, history)
    assert_valid(out)
    assert build_context(out, scores=scores, max_tokens=budget, keep_last_turns=k, relevance=relevance,
                         token_counter=COUNTER) == out


def test_embedding_relevance_uses_the_passed_in_model_and_caches_texts():
    seen = []

    def embed(texts):
        seen.extend(texts)
        return [[1.0 if "theo" in t.lower() else 0.0, 0.2] for t in texts]

    msgs = conversation() + [HumanMessage("Tell me about my son's birthday", id="hq")]
    flat = {message_key(m): 5.0 for m in msgs}
    cache = {}
    out = build_context(msgs, scores=flat, max_tokens=80, keep_last_turns=1, relevance="embedding",
                        embed=embed, embedding_cache=cache, query="Theo", token_counter=COUNTER)
    assert "h3" in {m.id for m in out}
    n = len(seen)
    build_context(msgs, scores=flat, max_tokens=80, keep_last_turns=1, relevance="embedding",
                  embed=embed, embedding_cache=cache, query="Theo", token_counter=COUNTER)
    assert len(seen) == n + 1  # only the query is embedded again


async def test_llm_scorer_async_in_the_filter_node():
    from langmem_ext.short_term import ImportanceFilterNode

    model = ScriptedChatModel(structured=lambda prompt: {"scores": [{"index": 0, "score": 10}, {"index": 1, "score": 1}]})
    node = ImportanceFilterNode(max_tokens=500, scorer=LLMScorer(model=model, batch_size=2))
    update = await node.ainvoke({"messages": conversation()[:5]})  # a system prompt + 4 turns' messages
    # the system prompt always leads the model input: it is never scored (no model call for it)
    assert list(update["importance_scores"].values()) == [10.0, 1.0, 10.0, 1.0] and model.calls == 2


def test_importance_filter_is_shared_by_node_and_middleware_and_scores_only_new_messages():
    from langmem_ext.short_term import ImportanceFilterMiddleware, ImportanceFilterNode, importance_filter

    seen = []

    def scorer(message):
        seen.append(message.id)
        return 8.0

    f = importance_filter(max_tokens=300, scorer=scorer, keep_last_turns=1)
    history = [HumanMessage("My cat is Tom.", id="1"), AIMessage("Cute.", id="2"), HumanMessage("And a dog.", id="3")]
    assert f.score_new(history, known={"1": 3.0}) == {"2": 8.0, "3": 8.0} and seen == ["2", "3"]
    assert f.view(history, {"1": 3.0}) == build_context(history, scores={"1": 3.0}, max_tokens=300, keep_last_turns=1)
    for make in (ImportanceFilterNode, ImportanceFilterMiddleware):
        assert make(max_tokens=300, relevance="lexical").filter.relevance == "lexical"
        with pytest.raises(ValueError, match="max_tokens must be > 0"):
            make(max_tokens=0)
        with pytest.raises(ValueError, match="relevance must be"):
            make(max_tokens=10, relevance="bm25")
        with pytest.raises(ValueError, match="needs embed="):
            make(max_tokens=10, relevance="embedding")


def test_the_embedding_cache_is_bounded():
    from langmem_ext.short_term import importance_filter

    calls = []

    def embed(texts):
        calls.append(list(texts))
        return [[float(len(t)), 1.0] for t in texts]

    f = importance_filter(max_tokens=2000, relevance="embedding", embed=embed, embedding_cache_size=4, keep_last_turns=1)
    history = []
    for i in range(8):
        history += [HumanMessage(f"message number {i} about gardens", id=f"h{i}"), AIMessage(f"reply {i}", id=f"a{i}")]
    f.view(history, {})
    assert len(f.embedding_cache) == 4  # bounded: the least recently used texts were dropped
    with pytest.raises(ValueError, match="embedding_cache_size must be > 0"):
        importance_filter(max_tokens=10, embedding_cache_size=0)
