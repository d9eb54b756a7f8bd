"""Importance scorers: rate messages 1-10, offline, with a model, or with your function.

* :class:`HeuristicScorer`: offline (facts, preferences, commitments, names, dates,
  numbers, answers to questions; novelty when given embeddings);
* :class:`LLMScorer`: a chat model's structured output, batched, falling back to the
  heuristic when a call fails (:func:`scores_schema` is what it asks for,
  :func:`read_scores` reads the answer);
* :func:`as_scorer`: a scorer from ``None``, a scorer or ``fn(message) -> float``.

:mod:`langmem_ext.short_term.importance` builds the context from their scores and is
where to import them from.

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> as_scorer(lambda m: len(m.content)).score([HumanMessage("four")])
    [4.0]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, Field

from langmem_ext.prompts import DEFAULT_IMPORTANCE_PROMPT
from langmem_ext._options import check_positive, keyword_model
from langmem_ext.messages import message_text
from langmem_ext.short_term.extractive import STOPWORDS, speaker

__all__ = [
    "HeuristicScorer",
    "ImportanceScores",
    "LLMScorer",
    "MessageScore",
    "as_scorer",
    "read_scores",
    "scores_schema",
]

_PATTERNS: list[tuple[float, re.Pattern[str]]] = [
    (2.0, re.compile(r"\b(i am|i'm|my|mine|i have|i've|i live|i work|i was|we are|we have|our)\b", re.I)),
    (2.0, re.compile(r"\b(like|love|hate|prefer|favou?rite|enjoy|allergic|can't stand|passion)\w*", re.I)),
    (2.0, re.compile(r"\b(i will|i'll|remind|promise|plan|going to|deadline|appointment|meeting|schedule)\w*", re.I)),
    (1.0, re.compile(
        r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b(mon|tues|wednes|thurs|fri|satur|sun)day\b"
        r"|\b(yesterday|today|tomorrow|tonight|last (week|month|year)|next (week|month|year))\b|\b(19|20)\d\d\b", re.I)),
    (1.0, re.compile(r"\d")),
]
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{2,}")
_SMALL_TALK = re.compile(r"^\W*(ok(ay)?|thanks?( you)?|lol|haha+|hi|hello|hey|bye|cool|great|nice|sure|yes|no)\W*$", re.I)
_WORD = re.compile(r"[a-z0-9']+")


def _terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def _embed(embed: Any, texts: list[str]) -> np.ndarray:
    """Vectors of ``texts`` as one float32 array (rows)."""
    fn = getattr(embed, "embed_documents", embed)
    return np.asarray(fn(texts), dtype=np.float32).reshape(len(texts), -1)


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(x * x for x in b)) or 1.0
    return sum(x * y for x, y in zip(a, b)) / (na * nb)


class HeuristicScorer:
    """Offline 1-10 importance: facts, preferences, commitments, names, dates, numbers, Q&A.

    Args:
        embed: optional embeddings (a LangChain ``Embeddings`` or ``fn(texts) -> vectors``);
            when given, novelty against the ``novelty_window`` previous messages adds up to 2.
        novelty_window: how many earlier messages novelty is measured against.
    """

    def __init__(self, *, embed: Any = None, novelty_window: int = 8) -> None:
        self.embed = embed
        self.novelty_window = novelty_window

    def _one(self, message: BaseMessage, previous: BaseMessage | None) -> float:
        text = message_text(message)
        score = 4.0 if isinstance(message, ToolMessage) else 3.0
        if not text.strip() or _SMALL_TALK.match(text):
            return 1.0
        for weight, pattern in _PATTERNS:
            if pattern.search(text):
                score += weight
        if _NAME.search(text):
            score += 1.0
        if "?" in text:
            score += 1.0
        if previous is not None and "?" in message_text(previous) and previous.type != message.type:
            score += 1.0  # an answer to a question
        if len(_terms(text)) < 3:
            score -= 1.0
        return score

    def score(self, messages: Sequence[BaseMessage], *, history: Sequence[BaseMessage] = ()) -> list[float]:
        """Scores of ``messages`` (``history``: the messages before them, for Q&A and novelty)."""
        context = list(history)
        out = []
        for m in messages:
            out.append(self._one(m, context[-1] if context else None))
            context.append(m)
        if self.embed is not None and messages:
            window = list(history)[-self.novelty_window :]
            vecs = _embed(self.embed, [message_text(m) for m in [*window, *messages]])
            base = len(window)
            for k in range(len(messages)):
                earlier = vecs[max(0, base + k - self.novelty_window) : base + k]
                novelty = 1 - max((_cos(vecs[base + k], v) for v in earlier), default=0.0)
                out[k] += 2.0 * max(0.0, novelty)
        return [min(10.0, max(1.0, s)) for s in out]

    async def ascore(self, messages: Sequence[BaseMessage], *, history: Sequence[BaseMessage] = ()) -> list[float]:
        return self.score(messages, history=history)


class MessageScore(BaseModel):
    """The importance of one message."""

    index: int = Field(description="The message's index in the list.")
    score: int = Field(ge=1, le=10, description="1: nothing to remember ... 10: must not be forgotten.")


class ImportanceScores(BaseModel):
    """Importance scores for a numbered list of messages."""

    scores: list[MessageScore] = Field(description="One score per message index.")


def scores_schema(size: int) -> dict[str, Any]:
    """The JSON schema of one scoring answer for ``size`` messages (OpenAI strict-mode valid)."""
    item = {"type": "object", "additionalProperties": False, "required": ["index", "score"], "properties": {
        "index": {"type": "integer", "minimum": 0, "maximum": max(0, size - 1), "description": "The message's index."},
        "score": {"type": "integer", "minimum": 1, "maximum": 10,
                  "description": "1: nothing to remember ... 10: must not be forgotten."}}}
    return {"type": "object", "additionalProperties": False, "required": ["scores"], "properties": {
        "scores": {"type": "array", "items": item, "maxItems": size, "description": "One score per message index."}}}


def read_scores(value: Any, size: int) -> dict[int, float]:
    """The usable scores in a model's answer: index -> score clamped to 1-10 (bad items dropped).

    Example:
        >>> read_scores({"scores": [{"index": 0, "score": 14}, {"index": 7, "score": 3}, {"index": 1, "score": "6"}]}, 2)
        {0: 10.0, 1: 6.0}

    Raises:
        ValueError: no usable score at all.
    """
    items = value.get("scores") if isinstance(value, dict) else value
    out: dict[int, float] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            index, score = int(item.get("index")), float(item.get("score"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if 0 <= index < size and math.isfinite(score):
            out[index] = float(min(10, max(1, round(score))))
    if not out and size:
        raise ValueError("no usable score: give {'scores': [{'index': i, 'score': 1-10}, ...]}")
    return out


class LLMScorer:
    """Scores with a chat model's structured output, ``batch_size`` messages per call.

    Each call is bounded (``max_tokens`` a few tokens per message, the request timeout) and
    goes through :mod:`langmem_ext.llm` (one retry policy, structured output adapted to the
    server, one repair). Scores are clamped to 1-10; messages the model leaves out get the
    neutral score 5. A batch whose call fails gets the :class:`HeuristicScorer`'s scores,
    logged in one line: a failing model never fails the turn.
    """

    @keyword_model
    def __init__(self, *, model: Any, prompt: str = DEFAULT_IMPORTANCE_PROMPT, batch_size: int = 20) -> None:
        check_positive("LLMScorer", batch_size=batch_size)
        from langmem_ext.models import as_chat_model

        self.model = as_chat_model(model)
        self.prompt = prompt
        self.batch_size = batch_size
        self.fallback = HeuristicScorer()

    def _batches(self, messages: Sequence[BaseMessage]) -> list[tuple[int, str]]:
        out = []
        for start in range(0, len(messages), self.batch_size):
            lines = [f"[{i}] {speaker(m)}: {message_text(m)}" for i, m in enumerate(messages[start : start + self.batch_size])]
            out.append((start, self.prompt.format(messages="\n".join(lines))))
        return out

    def _options(self, size: int, turn: str | None) -> dict[str, Any]:
        from langmem_ext.llm import score_tokens

        return {"purpose": "score", "schema": scores_schema(size), "name": "importance_scores",
                "description": "Importance scores for a numbered list of messages.",
                "validate": lambda value: read_scores(value, size), "max_tokens": score_tokens(size), "turn": turn}

    def _fell_back(self, exc: Any, batch: Sequence[BaseMessage], history: Sequence[BaseMessage]) -> list[float]:
        from langmem_ext.llm import record
        from langmem_ext.llm.endpoint import endpoint_of

        record("score", "fallback", model=endpoint_of(self.model).model, fallback="the heuristic score",
               cause=f"{exc.failure.kind}: {exc.failure.cause}", count=len(batch))
        return self.fallback.score(batch, history=history)

    def score(self, messages: Sequence[BaseMessage], *, history: Sequence[BaseMessage] = ()) -> list[float]:
        from langmem_ext.llm import ModelCallError, call_structured, turn_key

        scores = [5.0] * len(messages)
        turn = turn_key([*history, *messages])
        for start, prompt in self._batches(messages):
            batch = messages[start : start + self.batch_size]
            try:
                found = call_structured(self.model, [HumanMessage(prompt)], **self._options(len(batch), turn)).value
            except ModelCallError as exc:
                found = dict(enumerate(self._fell_back(exc, batch, [*history, *messages[:start]])))
            for index, value in found.items():
                scores[start + index] = value
        return scores

    async def ascore(self, messages: Sequence[BaseMessage], *, history: Sequence[BaseMessage] = ()) -> list[float]:
        from langmem_ext.llm import ModelCallError, acall_structured, turn_key

        scores = [5.0] * len(messages)
        turn = turn_key([*history, *messages])
        for start, prompt in self._batches(messages):
            batch = messages[start : start + self.batch_size]
            try:
                found = (await acall_structured(self.model, [HumanMessage(prompt)], **self._options(len(batch), turn))).value
            except ModelCallError as exc:
                found = dict(enumerate(self._fell_back(exc, batch, [*history, *messages[:start]])))
            for index, value in found.items():
                scores[start + index] = value
        return scores


class _FunctionScorer:
    def __init__(self, fn: Callable[[BaseMessage], float]) -> None:
        self.fn = fn

    def score(self, messages: Sequence[BaseMessage], *, history: Sequence[BaseMessage] = ()) -> list[float]:
        return [float(self.fn(m)) for m in messages]

    async def ascore(self, messages: Sequence[BaseMessage], *, history: Sequence[BaseMessage] = ()) -> list[float]:
        return self.score(messages, history=history)


def as_scorer(scorer: Any) -> Any:
    """A scorer object from None (heuristic), a scorer, or ``fn(message) -> float``."""
    if scorer is None:
        return HeuristicScorer()
    if hasattr(scorer, "score"):
        return scorer
    if callable(scorer):
        return _FunctionScorer(scorer)
    raise TypeError(f"scorer must have .score(messages) or be fn(message) -> float, got {type(scorer).__name__}.")

