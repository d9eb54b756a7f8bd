"""Random conversations (hypothesis) and scripted fake chat models for the short-term tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import BaseModel

from langmem_ext.short_term.messages import history_problems, is_summary_message

WORDS = (
    "my sister Maria lives in Porto since 2019 and I love hiking on Sunday but the meeting "
    "is on March 3 we talked about budget numbers 42 ok thanks lol what is your plan? remind me"
).split()

text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=40).map(" ".join)


@st.composite
def conversations(draw: st.DrawFn, *, max_turns: int = 8, system: bool | None = None) -> list[BaseMessage]:
    """A valid history: optional system prompt, then turns of human, tool loops (parallel
    calls, results in any order) and AI replies. Every message has a unique id."""
    ids = itertools.count()
    out: list[BaseMessage] = []
    if system if system is not None else draw(st.booleans()):
        out.append(SystemMessage(draw(text), id=f"s{next(ids)}"))
    for _ in range(draw(st.integers(1, max_turns))):
        out.append(HumanMessage(draw(text), id=f"h{next(ids)}"))
        for _ in range(draw(st.integers(0, 2))):
            n = draw(st.integers(1, 3))
            calls = [{"name": f"tool{k}", "args": {"q": draw(text)}, "id": f"c{next(ids)}"} for k in range(n)]
            out.append(AIMessage(draw(st.sampled_from(["", "let me check"])), tool_calls=calls, id=f"a{next(ids)}"))
            order = draw(st.permutations(calls))
            out += [ToolMessage(draw(text), tool_call_id=c["id"], name=c["name"], id=f"t{next(ids)}") for c in order]
        if draw(st.booleans()) or out[-1].type == "tool":
            out.append(AIMessage(draw(text), id=f"a{next(ids)}"))
    return out


def is_subsequence(small: Sequence[BaseMessage], big: Sequence[BaseMessage]) -> bool:
    """``small`` (summary messages aside) is ``big`` with some messages left out, order kept."""
    it = iter(big)
    return all(any(m == b for b in it) for m in small if not is_summary_message(m))


def assert_valid(messages: Sequence[BaseMessage]) -> None:
    problems = history_problems(messages, allow_pending=False)
    assert not problems, problems


class ScriptedChatModel(BaseChatModel):
    """Replies with a summary built from its input (or raises), counting calls and input size.

    ``reply``: "echo" answers "S<n>: " + the first words of the request; "fail" raises;
    "empty" answers "". ``structured``: for ``with_structured_output``, a function from the
    prompt to the schema's dict.
    """

    reply: str = "echo"
    calls: int = 0
    input_chars: int = 0
    prompts: list[str] = []
    structured: Any = None

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages)
        self.calls += 1
        self.input_chars += len(prompt)
        self.prompts.append(prompt)
        if self.reply == "fail":
            raise ConnectionError("rate limited: HTTP 429 from the provider")
        content = "" if self.reply == "empty" else f"S{self.calls}: " + " ".join(prompt.split()[-30:])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content))])

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
        from langchain_core.runnables import RunnableLambda

        def run(prompt: Any) -> Any:
            self.calls += 1
            text = prompt if isinstance(prompt, str) else str(prompt)
            self.prompts.append(text)
            data = self.structured(text)
            return schema.model_validate(data) if isinstance(schema, type) and issubclass(schema, BaseModel) else data

        return RunnableLambda(run)


class ToolLoopModel(BaseChatModel):
    """Plays a script of AI replies (tool calls included) and records every input it sees."""

    script: list[AIMessage]
    seen: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "tool-loop"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolLoopModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        reply = self.script[min(len(self.seen), len(self.script)) - 1]
        return ChatResult(generations=[ChatGeneration(message=reply.model_copy(update={"id": None}))])
