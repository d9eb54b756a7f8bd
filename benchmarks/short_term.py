"""Short-term memory: per-turn trimming cost and summariser cost, against the peers, in one run.

1. Per-turn cost on a 1,000-message thread (growing by one human + one AI message per
   turn): our ``trim_history`` (exact tiktoken counts, cached per message) and trim +
   importance filter, vs ``langchain_core.messages.trim_messages`` with an exact tiktoken
   counter and with ``count_tokens_approximately``.
2. A 500-turn scripted conversation, plain and tool-call heavy: total summariser input
   tokens and number of summariser calls, with the same counting fake model, for our
   ``SummarizationNode``, langmem's ``SummarizationNode`` and LangChain's
   ``SummarizationMiddleware``, all triggered at the same token threshold.

Run: ``.venv/bin/python benchmarks/short_term.py`` (writes its section of docs/benchmarks.md).
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from langchain.agents.middleware.summarization import SummarizationMiddleware  # noqa: E402
from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.messages.utils import count_tokens_approximately, trim_messages  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langgraph.graph.message import add_messages  # noqa: E402
from langmem.short_term import SummarizationNode as LangmemSummarizationNode  # noqa: E402

from benchmarks._report import machine_line, table, write_section  # noqa: E402
from langmem_ext.short_term import (  # noqa: E402
    HeuristicScorer,
    MessageTokenCounter,
    SummarizationNode,
    build_context,
    trim_history,
)
from langmem_ext.messages import message_text  # noqa: E402
from langmem_ext.messages import message_key  # noqa: E402
from langmem_ext.tokens import get_encoding  # noqa: E402

VOCAB = (
    "the user asked about travel plans budget hotel flight Lisbon Porto Monday Friday meeting project deadline "
    "sister brother dog cat garden recipe pasta coffee running marathon training knee doctor appointment 3pm "
    "price euros 250 1200 booked cancelled refund weather rain sunny museum tickets train delayed platform "
    "remember prefer likes hates favourite allergic peanuts birthday June 14 gift book novel chapter"
).split()
TRIGGER, KEEP, SUMMARY_TOKENS = 4000, 1000, 256


def sentence(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(rng.randint(lo, hi))).capitalize() + "."


def conversation(turns: int, *, tools: bool, seed: int = 7) -> list[list[BaseMessage]]:
    """Per turn, the messages in order; the summariser runs before each AI step."""
    rng = random.Random(seed)
    out = []
    for t in range(turns):
        turn: list[BaseMessage] = [HumanMessage(" ".join(sentence(rng, 6, 14) for _ in range(3)), id=f"h{t}")]
        for r in range(rng.randint(1, 3) if tools else 0):
            calls = [{"name": "search", "args": {"q": sentence(rng, 2, 5)}, "id": f"c{t}_{r}_{k}"}
                     for k in range(rng.randint(1, 3))]
            turn.append(AIMessage("", tool_calls=calls, id=f"a{t}_{r}"))
            turn += [ToolMessage(" ".join(sentence(rng, 8, 16) for _ in range(4)), tool_call_id=c["id"],
                                 name="search", id=f"t{c['id']}") for c in calls]
        turn.append(AIMessage(" ".join(sentence(rng, 6, 14) for _ in range(3)), id=f"a{t}"))
        out.append(turn)
    return out


# ---------------------------------------------------------------- 1. per-turn trimming


def tiktoken_counter(messages: Any) -> int:
    """Exact chat-format count with tiktoken, no cache: what a user would pass to trim_messages."""
    enc = get_encoding("o200k_base")
    total = 3
    for m in messages:
        total += 4 + len(enc.encode_ordinary(message_text(m)))
        for c in getattr(m, "tool_calls", None) or []:
            total += 3 + len(enc.encode_ordinary(c["name"])) + len(enc.encode_ordinary(str(c["args"])))
    return total


def per_turn_costs(turns: int = 60, budget: int = 4000) -> list[list[object]]:
    flat = [m for turn in conversation(400, tools=True, seed=1) for m in turn]
    base = [SystemMessage("You are a helpful assistant.", id="sys"), *flat[:999]]
    extra = flat[999:]
    counter = MessageTokenCounter(tokenizer_model="gpt-4o-mini")
    scorer = HeuristicScorer()
    scores = {message_key(m): s for m, s in zip(base, scorer.score(base))}
    trim_history(base, max_tokens=budget, token_counter=counter)  # warm the cache: turn 0 counts everything

    def ours(history: list[BaseMessage]) -> None:
        trim_history(history, max_tokens=budget, token_counter=counter)

    def ours_filter(relevance: str) -> Any:
        def run(history: list[BaseMessage]) -> None:
            new = [m for m in history[-2:] if message_key(m) not in scores]  # score each message once
            scores.update({message_key(m): s for m, s in zip(new, scorer.score(new, history=history[-10:-2]))})
            build_context(history, scores=scores, max_tokens=budget, keep_last_turns=3, token_counter=counter,
                          relevance=relevance)
        return run

    def peer(counter_fn: Any) -> Any:
        def run(history: list[BaseMessage]) -> None:
            trim_messages(history, max_tokens=budget, token_counter=counter_fn, strategy="last",
                          start_on="human", include_system=True, allow_partial=False)
        return run

    contenders = {
        "langmem-ext trim_history (exact, cached)": ours,
        "langmem-ext importance filter (heuristic scores; budget, tool groups)": ours_filter("none"),
        "langmem-ext importance filter + lexical relevance to the question": ours_filter("lexical"),
        "trim_messages + tiktoken counter (exact)": peer(tiktoken_counter),
        "trim_messages + count_tokens_approximately": peer(count_tokens_approximately),
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    history = list(base)
    for t in range(turns):
        history = history + extra[2 * t : 2 * t + 2]  # a new turn arrives
        for name, fn in contenders.items():
            gc.collect()
            gc.disable()  # as timeit does: no collector pauses caused by another contender's garbage
            t0 = time.perf_counter()
            fn(history)
            samples[name].append((time.perf_counter() - t0) * 1000)
            gc.enable()
    ref = statistics.median(samples["trim_messages + tiktoken counter (exact)"])
    rows = []
    for name, s in samples.items():
        s.sort()
        med = statistics.median(s)
        rows.append([name, f"{med:.2f}", f"{s[int(0.95 * (len(s) - 1))]:.2f}", f"{ref / med:.1f}×"])
    return rows


# ---------------------------------------------------------------- 2. summariser cost


class CountingModel(BaseChatModel):
    """Answers every request with a ~200-token summary; counts calls and input tokens.

    Input is counted in chat format (text, tool calls and per-message overhead), like a
    provider bills it, so a summariser that passes message objects and one that sends a
    transcript are counted alike.
    """

    calls: int = 0
    input_tokens: int = 0
    counter: Any = None

    @property
    def _llm_type(self) -> str:
        return "counting-fake"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        text = "\n".join(message_text(m) for m in messages)
        self.calls += 1
        self.input_tokens += self.counter(messages)
        words = text.split()
        return ChatResult(generations=[ChatGeneration(message=AIMessage(" ".join(words[-150:]), id=f"sum{self.calls}"))])


def run_summariser(kind: str, turns: list[list[BaseMessage]], counter: MessageTokenCounter) -> CountingModel:
    model = CountingModel(counter=MessageTokenCounter(tokenizer_model="gpt-4o-mini"))
    state: dict[str, Any] = {"messages": [], "context": {}, "running_summary": None}
    if kind == "ours":
        node = SummarizationNode(model=model, max_tokens=TRIGGER, keep_tokens=KEEP, max_summary_tokens=SUMMARY_TOKENS,
                                 token_counter=counter)
    elif kind == "langmem":
        node = LangmemSummarizationNode(model=model, max_tokens=TRIGGER, max_tokens_before_summary=TRIGGER - KEEP,
                                        max_summary_tokens=SUMMARY_TOKENS, token_counter=counter)
    else:
        node = SummarizationMiddleware(model, trigger=("tokens", TRIGGER), keep=("tokens", KEEP), token_counter=counter)

    def before_model() -> None:
        if kind == "middleware":
            update = node.before_model(state, None) or {}
        else:
            update = node.invoke(state)
        if "messages" in update:
            state["messages"] = add_messages(state["messages"], update["messages"])
        for key in ("context", "running_summary"):
            if key in update:
                state[key] = update[key]

    for turn in turns:
        pending = []
        for m in turn:
            pending.append(m)
            if m.type == "ai":  # the model is about to produce m: the summariser runs first
                state["messages"] = add_messages(state["messages"], pending[:-1])
                before_model()
                state["messages"] = add_messages(state["messages"], [m])
                pending = []
            elif m.type == "tool" and m is turn[-1]:
                state["messages"] = add_messages(state["messages"], pending)
    return model


def summariser_costs(turns: int = 500) -> list[list[object]]:
    rows = []
    for label, tools in (("plain", False), ("tool-call heavy", True)):
        conv = conversation(turns, tools=tools)
        counter = MessageTokenCounter(tokenizer_model="gpt-4o-mini")
        own = sum(counter.count_message(m) for turn in conv for m in turn)
        for kind, name in (("ours", "langmem-ext SummarizationNode"), ("langmem", "langmem 0.0.30 SummarizationNode"),
                           ("middleware", "LangChain SummarizationMiddleware")):
            t0 = time.perf_counter()
            model = run_summariser(kind, conv, counter)
            secs = time.perf_counter() - t0
            rows.append([label, name, model.calls, f"{model.input_tokens:,}", f"{model.input_tokens / own:.3f}×",
                         f"{secs:.1f}"])
        rows.append([label, "(the conversation itself)", "", f"{own:,}", "1.000×", ""])
    return rows


def main() -> None:
    per_turn = per_turn_costs()
    summ = summariser_costs()
    md = "\n\n".join([
        "## Short-term memory (`benchmarks/short_term.py`)",
        machine_line(),
        "### Per-turn trimming on a 1,000-message thread (4,000-token budget, tool calls included)",
        "Each turn adds a human and an AI message, then every contender trims the whole thread. "
        "Ours counts exactly (tiktoken o200k + chat-format overhead) and caches per message id, "
        "so a turn counts only the new messages. The garbage collector is paused while each call is timed "
        "(as `timeit` does) and run between calls.",
        table(["contender", "p50 ms/turn", "p95 ms/turn", "speed-up vs trim_messages+tiktoken"], per_turn),
        f"### Summariser cost over a 500-turn conversation (trigger {TRIGGER:,} tokens, keep {KEEP:,}, "
        f"summary ≤ {SUMMARY_TOKENS})",
        "The same counting fake model for all; the summariser runs before every model call "
        "(inside tool loops too). Input tokens = everything sent to the summarising model, "
        "prompts included, counted in chat format like the conversation itself (text, tool calls, per-message overhead); the ratio is over the conversation's own tokens.",
        table(["conversation", "summariser", "LLM calls", "input tokens", "ratio", "wall s"], summ),
    ])
    write_section("short_term", md)
    print(md)


if __name__ == "__main__":
    main()
