"""The offline responder: a chat model that answers from its context, with no network.

:class:`OfflineResponder` is what :func:`langmem_ext.models.resolve_models` gives as the
chat model when none is configured (import it from :mod:`langmem_ext.models`). It ranks
memory lines, tool results and the user's earlier statements against the last user
message (:func:`rank_candidates`) and says what it recalled (:func:`compose_reply`).
Pure functions over message lists; the model class is a thin adapter over them.

Example:
    >>> from langchain_core.messages import HumanMessage, SystemMessage
    >>> compose_reply([SystemMessage("Memories:\\n- The user's dog is called Bruno."),
    ...                HumanMessage("What is my dog called?")])
    "From memory: The user's dog is called Bruno."
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

from langmem_ext.messages import message_text

__all__ = ["OfflineResponder", "clean_memory_line", "compose_reply", "rank_candidates"]

_STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is
    it its itself just me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself
    yourselves tell remember know please thanks thank okay ok hi hello hey also actually
    really like just do does did user user's memory memories i'm i've i'll i'd it's don't""".split()
)
_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")
_QUESTION_START = re.compile(
    r"^\s*(what|where|who|when|which|how|why|do|does|did|is|are|can|could|should|would|will)\b",
    re.I,
)


def _stem(word: str) -> str:
    word = word.strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ing", "ies", "es", "s", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _terms(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def _is_question(text: str) -> bool:
    return text.rstrip().endswith("?") or bool(_QUESTION_START.match(text))


def _candidates(messages: Sequence[BaseMessage], question: BaseMessage) -> list[tuple[str, str]]:
    """(source, line) pairs the responder may quote: memory lines, tool results, user turns."""
    out: list[tuple[str, str]] = []
    for message in messages:
        if message is question:
            continue
        if isinstance(message, (SystemMessage, ToolMessage)):
            source = "memory" if isinstance(message, SystemMessage) else "tool"
            for raw in message_text(message).splitlines():
                line = clean_memory_line(raw)
                if line and len(_terms(line)) >= 2 and not line.endswith(":"):
                    out.append((source, line))
        elif isinstance(message, HumanMessage):
            text = message_text(message).strip()
            if text and not _is_question(text):
                out.append(("conversation", text))
    seen: set[str] = set()
    unique = []
    for source, line in out:
        if line.lower() not in seen:
            seen.add(line.lower())
            unique.append((source, line))
    return unique


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ID_TOKEN = re.compile(r"\bid=[\w-]+:?\s*")
_SUPERSEDED = ("no longer true", "(archived)", "superseded")
_ASSISTANT_PART = re.compile(r"\s*(?:Action:\s*)?Assistant(?: replied)?:.*?(?=\bUser:|$)", re.S)


def clean_memory_line(line: str) -> str | None:
    """The memory text of a rendered memory line; ``None`` for a memory no longer true.

    Example:
        >>> clean_memory_line('- id=7 [semantic] (since 2026-01-02) "User lives in Porto"')
        'User lives in Porto'
        >>> clean_memory_line('- [semantic] (no longer true since 2026-01-02) "User lives in Lisbon"') is None
        True
        >>> clean_memory_line("* The user's dog is Pixel.")
        "The user's dog is Pixel."
        >>> clean_memory_line('- [episodic] "User: I play chess. Action: Assistant replied: Nice!"')
        'User: I play chess.'
    """
    text = line.strip()
    if any(mark in text.lower() for mark in _SUPERSEDED):
        return None
    quoted = _QUOTED.findall(text)
    if text.startswith(("-", "*", "•")) and quoted:
        try:
            text = json.loads(f'"{max(quoted, key=len)}"')
        except ValueError:
            text = max(quoted, key=len)
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = _ID_TOKEN.sub("", text).lstrip("-*•").strip()
    # what the user said, not what the assistant answered (no echo loops)
    text = _ASSISTANT_PART.sub(" ", text).strip()
    if text.endswith("?"):
        return None  # a question the user asked is not something to recall
    return text or None


def rank_candidates(
    query: str,
    candidates: Sequence[str],
    *,
    embed: Callable[[Sequence[str]], Sequence[Sequence[float]]] | None = None,
) -> list[tuple[float, int]]:
    """Score each candidate against ``query``: IDF-weighted term overlap, plus cosine if ``embed``.

    Returns ``(score, index)`` pairs with a positive score, best first.

    Example:
        >>> rank_candidates("where do I live?", ["I live in Porto.", "I like tea."])
        [(1.0, 0)]
    """
    query_terms = set(_terms(query))
    docs = [set(_terms(c)) for c in candidates]
    df = Counter(t for doc in docs for t in doc)
    n = len(docs)
    scores = []
    for i, doc in enumerate(docs):
        shared = query_terms & doc
        lexical = sum(math.log(1 + n / df[t]) for t in shared)
        total = sum(math.log(1 + n / df[t]) for t in query_terms if t in df) or 1.0
        scores.append(lexical / total if shared else 0.0)
    if embed is not None and candidates:
        vectors = list(embed([query, *candidates]))
        q = vectors[0]
        qn = math.sqrt(sum(x * x for x in q)) or 1.0
        for i, v in enumerate(vectors[1:]):
            vn = math.sqrt(sum(x * x for x in v)) or 1.0
            cosine = sum(a * b for a, b in zip(q, v)) / (qn * vn)
            scores[i] = scores[i] + max(0.0, cosine - 0.3)  # only clear semantic matches count
    ranked = [(round(s, 4), i) for i, s in enumerate(scores) if s > 0]
    return sorted(ranked, key=lambda p: (-p[0], p[1]))


def _second_person(text: str) -> str:
    """Turn the user's first-person sentence around for the reply ("I live" -> "you live")."""
    swaps = {"i": "you", "i'm": "you're", "my": "your", "me": "you", "mine": "yours", "am": "are",
             "i've": "you've", "myself": "yourself", "we": "you", "our": "your"}  # fmt: skip
    words = text.split(" ")
    return " ".join(swaps.get(w.lower(), w) for w in words)


def compose_reply(
    messages: Sequence[BaseMessage],
    *,
    max_items: int = 3,
    embed: Callable[[Sequence[str]], Sequence[Sequence[float]]] | None = None,
) -> str:
    """The offline reply: what matched the last user turn in memory, tool results and history."""
    last = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    if last is None:
        return "I have no message from you to answer yet."
    question = message_text(last).strip()
    pool = _candidates(messages, last)
    lines = [line for _, line in pool if line.strip() != question]
    ranked = rank_candidates(question, lines, embed=embed)
    # shorter lines first among equals (a fact before the episode it came from), no repeats
    ranked.sort(key=lambda p: (-p[0] / (1 + 0.02 * len(_terms(lines[p[1]]))), p[1]))
    recalled: list[str] = []
    asked = set(_terms(question))
    for _, i in ranked:
        terms = set(_terms(lines[i]))
        if not _is_question(question) and len(terms & asked) >= 0.6 * min(len(terms), len(asked)):
            continue  # the statement itself (e.g. the tool's confirmation of it)
        if any(len(terms & set(_terms(r))) >= 0.6 * min(len(terms), len(set(_terms(r)))) for r in recalled):
            continue
        recalled.append(lines[i])
        if len(recalled) == max_items:
            break
    if _is_question(question):
        if not recalled:
            return f'I found nothing in memory about "{question.rstrip("?")}".'
        return "From memory: " + " ".join(_sentence(r) for r in recalled)
    ack = f"Noted: {_second_person(question.rstrip('.!'))}."
    if recalled:
        ack += " Related, I recall: " + " ".join(_sentence(r) for r in recalled)
    return ack


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


class OfflineResponder(BaseChatModel):
    """A chat model that needs no network: it answers from the context it is given.

    It ranks the memory lines in system messages, tool results and the user's earlier
    statements against the last user message (IDF-weighted term overlap, plus cosine
    similarity when ``embed`` is set) and says what it recalled, or that it found
    nothing. It never invents facts.

    With tools bound (:meth:`bind_tools`) it calls a tool whose name contains
    ``"search"`` for questions and one whose name contains ``"manage"`` for statements,
    then answers from the tool result.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> OfflineResponder().invoke([HumanMessage("What do I like?")]).content
        'I found nothing in memory about "What do I like".'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    max_items: int = Field(default=3, description="How many recalled lines a reply quotes.")
    embed: Any = Field(
        default=None,
        description="Optional embedding function (texts -> vectors) added to lexical matching.",
    )
    tools: list[dict[str, Any]] = Field(
        default_factory=list, description="Tool schemas bound with bind_tools."
    )

    @property
    def _llm_type(self) -> str:
        return "langmem-ext-offline"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> OfflineResponder:  # type: ignore[override]
        """A copy of this responder that may call ``tools`` (schemas in OpenAI form)."""
        from langchain_core.utils.function_calling import convert_to_openai_tool

        schemas = [convert_to_openai_tool(t)["function"] for t in tools]
        return self.model_copy(update={"tools": schemas})

    def _tool_call(self, messages: Sequence[BaseMessage]) -> AIMessage | None:
        if not self.tools or not messages or not isinstance(messages[-1], HumanMessage):
            return None
        text = message_text(messages[-1]).strip()
        want = "search" if _is_question(text) else "manage"
        tool = next((t for t in self.tools if want in t["name"].lower()), None)
        if tool is None:
            return None
        props: dict[str, Any] = tool.get("parameters", {}).get("properties", {})
        key = next((p for p in ("query", "content", "text", "memory") if p in props), None)
        if key is None:
            return None
        value: Any = text if want == "search" else _second_person_fact(text)
        if _object_with_content(props[key]):
            value = {"content": value}
        args: dict[str, Any] = {key: value}
        if "action" in props:
            args["action"] = "create"
        call_id = f"offline-{abs(hash((text, len(messages)))) % 10**8}"
        return AIMessage(content="", tool_calls=[{"name": tool["name"], "args": args, "id": call_id}])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._tool_call(messages) or AIMessage(
            content=compose_reply(messages, max_items=self.max_items, embed=self.embed)
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def _object_with_content(schema: dict[str, Any]) -> bool:
    """Whether a JSON schema (or one of its ``anyOf`` branches) is an object with ``content``."""
    branches = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    return any("content" in (b.get("properties") or {}) for b in branches if isinstance(b, dict))


def _second_person_fact(text: str) -> str:
    """A user statement rewritten as a memory about "the user".

    Example:
        >>> _second_person_fact("I live in Porto and my dog is Pixel.")
        "The user lives in Porto and the user's dog is Pixel."
    """
    irregular = {"am": "is", "have": "has", "do": "does", "'m": "is", "was": "was"}
    swaps = {"my": "the user's", "me": "the user", "mine": "the user's", "myself": "the user"}
    words = text.rstrip(".!").split(" ")
    out: list[str] = []
    after_i = False
    for word in words:
        low = word.lower()
        if low in {"i", "i'm", "i've"}:
            out.append("the user")
            after_i = True
            if low == "i'm":
                out.append("is")
                after_i = False
            elif low == "i've":
                out.append("has")
                after_i = False
            continue
        if after_i and word.isalpha():
            if low in irregular:
                word = irregular[low]
            elif low not in {"can", "will", "would", "should", "could", "might", "must", "did", "also", "never", "always", "really", "actually", "just", "still"} and not low.endswith("s"):
                word = word[:-1] + "ies" if low.endswith("y") and low[-2:-1] not in "aeiou" else word + "s"
            else:
                out.append(word)
                continue
            after_i = False
        out.append(swaps.get(low, word))
    sentence = " ".join(out)
    return sentence[:1].upper() + sentence[1:] + "."
