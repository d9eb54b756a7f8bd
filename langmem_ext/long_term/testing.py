"""Test helpers shipped for users' tests: a scripted chat model and a hash embedding.

:class:`ScriptedChatModel` replays scripted responses: ``AIMessage`` / ``str``
for plain calls and tool calls (``bind_tools`` returns the model itself), any
dict or pydantic object for ``with_structured_output`` calls (validated against
the requested schema), and exceptions to raise. Every call's input is kept in
``calls``.

:func:`hash_embed` is a deterministic bag-of-words embedding (words hashed into
buckets, L2-normalised): texts sharing words are close, so vector search works
in tests without a model.

Example:
    >>> from pydantic import BaseModel
    >>> class Answer(BaseModel):
    ...     value: int
    >>> model = ScriptedChatModel(responses=[{"value": 3}, "hello"])
    >>> model.with_structured_output(Answer).invoke("q").value
    3
    >>> model.invoke("hi").content, len(model.calls)
    ('hello', 2)
    >>> a, b, c = hash_embed(["I live in Lisbon", "lives in Lisbon", "green tea"])
    >>> sum(x * y for x, y in zip(a, b)) > sum(x * y for x, y in zip(a, c))
    True
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManager, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult, LLMResult
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = ["ScriptedChatModel", "ScriptExhaustedError", "hash_embed", "HASH_DIMS"]

HASH_DIMS = 256
_WORD = re.compile(r"[a-z0-9]+")


class ScriptExhaustedError(AssertionError):
    """The scripted model was called more often than it has responses."""


class ScriptedChatModel(BaseChatModel):
    """A chat model that replays a script (see module docstring)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responses: list[Any] = Field(default_factory=list, description="Responses, consumed in order.")
    calls: list[list[BaseMessage]] = Field(default_factory=list, description="Inputs received, one list per call.")
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next(self, messages: Sequence[BaseMessage]) -> Any:
        with self._lock:
            self.calls.append(list(messages))
            if not self.responses:
                raise ScriptExhaustedError(f"ScriptedChatModel has no response left for call {len(self.calls)}.")
            response = self.responses.pop(0)
        if isinstance(response, BaseException):
            raise response
        return response

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        response = self._next(messages)
        if isinstance(response, str):
            response = AIMessage(content=response)
        if not isinstance(response, AIMessage):
            raise TypeError(f"Scripted response for a plain call must be an AIMessage or str, got {type(response).__name__}.")
        return ChatResult(generations=[ChatGeneration(message=response)])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, BaseMessage]:
        return self

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Runnable:  # type: ignore[override]
        def run(value: LanguageModelInput, config: RunnableConfig) -> Any:
            messages = self._convert_input(value).to_messages()
            # callbacks see a chat-model call, as with a real model's structured output
            manager = CallbackManager.configure(config.get("callbacks"), self.callbacks, self.verbose)
            (run_manager,) = manager.on_chat_model_start({"name": self._llm_type}, [messages], name=self._llm_type)
            try:
                response = self._next(messages)
            except BaseException as exc:
                run_manager.on_llm_error(exc)
                raise
            run_manager.on_llm_end(LLMResult(generations=[[ChatGeneration(message=AIMessage(content=""))]]))
            if isinstance(schema, type) and issubclass(schema, BaseModel):
                parsed = response if isinstance(response, schema) else schema.model_validate(
                    response.model_dump() if isinstance(response, BaseModel) else response
                )
            else:
                parsed = response.model_dump() if isinstance(response, BaseModel) else response
            return {"raw": AIMessage(content=""), "parsed": parsed, "parsing_error": None} if include_raw else parsed

        return RunnableLambda(run, name="ScriptedStructuredOutput")


def _bucket(word: str) -> tuple[int, float]:
    digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
    return int.from_bytes(digest[:4], "little") % HASH_DIMS, 1.0 if digest[4] & 1 else -1.0


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def hash_embed(texts: Sequence[str]) -> list[list[float]]:
    """Deterministic bag-of-words embeddings of ``HASH_DIMS`` dimensions."""
    out = []
    for text in texts:
        vec = [0.0] * HASH_DIMS
        for word in _WORD.findall(text.lower()):
            index, sign = _bucket(_stem(word))
            vec[index] += sign
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        out.append([v / norm for v in vec])
    return out
