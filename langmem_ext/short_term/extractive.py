"""Offline extractive summary: centroid sentence scoring with MMR redundancy control.

Candidate sentences are the previous summary's lines plus the sentences of the messages
leaving the window (prefixed with who said them). Each is a TF-IDF vector; a sentence's
salience is its cosine to the centroid of all candidates. Sentences are then picked by
maximal marginal relevance (salience minus similarity to what is already picked) until
the token budget is full, and emitted in their original order. No model, no network.

What the user said comes first: the assistant's sentences count ``assistant_weight`` of
their salience, and one that repeats a user sentence ("you live in ...") or is the offline
responder's filler ("Noted: ...", "Related, I recall: ...", "From memory: ...") is left out,
so the summary keeps the user's words.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage
    >>> msgs = [HumanMessage("My name is Ada and I live in Lisbon. Nice weather today."),
    ...         AIMessage("Nice to meet you, Ada! Lisbon is lovely."),
    ...         HumanMessage("I work as a nurse in Lisbon at the central hospital.")]
    >>> summary = extractive_summary("", msgs, max_tokens=30)
    >>> summary.splitlines()[0]
    'User: My name is Ada and I live in Lisbon.'
    >>> "Nice to meet you" in summary  # the assistant's pleasantry gives way to what the user said
    False
    >>> echo = [HumanMessage("I moved to Porto last month."), AIMessage("Noted: you moved to Porto last month."),
    ...         HumanMessage("My dog Pixel loves the beach."), AIMessage("Related, I recall: User lives in Porto.")]
    >>> print(extractive_summary("", echo, max_tokens=25))
    User: I moved to Porto last month.
    User: My dog Pixel loves the beach.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from langmem_ext.messages import message_text, split_sentences

__all__ = ["extractive_summary", "speaker"]

_WORD = re.compile(r"[a-z0-9']+")
_SPEAKER = re.compile(r"^(?:User|Assistant|Tool(?: \w+)?): ")
_FILLER = re.compile(r"^Assistant: (?:Noted|Related, I recall|From memory|I found nothing)\b")
STOPWORDS = frozenset(
    "a an the and or but if then so of to in on at for with from by as is are was were be been being "
    "i me my you your he she it we they them his her its our their this that these those there here "
    "do does did have has had not no yes ok okay just very too also can could would should will "
    "what which who whom when where why how all any some about into out up down over again".split()
)


def speaker(message: BaseMessage) -> str:
    """``User``, ``Assistant``, ``Tool <name>`` or the message type, for transcripts."""
    if message.type == "human":
        return "User"
    if isinstance(message, ToolMessage):
        return f"Tool {message.name}" if message.name else "Tool"
    if message.type == "ai":
        return "Assistant"
    return message.type.capitalize()


def _terms(sentence: str) -> list[str]:
    return [w for w in _WORD.findall(sentence.lower()) if w not in STOPWORDS and len(w) > 1]


def _message_sentences(message: BaseMessage) -> list[str]:
    who = speaker(message)
    out = [f"{who}: {s}" for s in split_sentences(message_text(message))]
    if isinstance(message, AIMessage):
        out += [f"{who} called {c['name']}({c['args']})" for c in message.tool_calls]
    return out


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


def extractive_summary(
    previous: str,
    messages: Sequence[BaseMessage],
    *,
    max_tokens: int,
    count_tokens: Callable[[str], int] | None = None,
    diversity: float = 0.3,
    assistant_weight: float = 0.5,
) -> str:
    """Fold ``messages`` into the ``previous`` summary by picking their most central sentences.

    Args:
        previous: the current summary ('' for none); its lines compete with the new sentences.
        messages: the messages leaving the window.
        max_tokens: budget of the returned text.
        count_tokens: counts a text's tokens (default: words * 4 / 3, a rough estimate).
        diversity: weight of the redundancy penalty (0: pure salience).
        assistant_weight: share of salience an assistant sentence keeps (1: same as the user's).

    Returns:
        The selected sentences in original order, one per line ('' when nothing fits).
    """
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be > 0, got {max_tokens}.")
    count = count_tokens or (lambda s: math.ceil(len(s.split()) * 4 / 3))
    candidates = [s.strip() for s in previous.splitlines() if s.strip()]
    for m in messages:
        candidates += _message_sentences(m)
    term_lists = [_terms(s.split(": ", 1)[1] if _SPEAKER.match(s) else s) for s in candidates]
    df = Counter(t for terms in term_lists for t in set(terms))
    n = len(candidates)
    vectors: list[dict[str, float]] = []
    for terms in term_lists:
        tf = Counter(terms)
        vec = {t: (1 + math.log(c)) * math.log(1 + n / df[t]) for t, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({t: v / norm for t, v in vec.items()})
    centroid: Counter[str] = Counter()
    for vec in vectors:
        centroid.update(vec)
    cnorm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
    salience = [_cosine(vec, centroid) / cnorm for vec in vectors]
    assistant = [s.startswith("Assistant:") for s in candidates]
    users = [i for i in range(n) if candidates[i].startswith("User:")]
    for i in range(n):
        if assistant[i]:
            salience[i] *= assistant_weight
    # an assistant sentence that repeats what the user said adds nothing
    echoes = {i for i in range(n) if assistant[i] and (_FILLER.match(candidates[i]) or any(
        _cosine(vectors[i], vectors[j]) >= 0.5 for j in users))}
    costs = [count(s) for s in candidates]
    eligible = {i for i in range(n) if len(term_lists[i]) >= 2 and costs[i] <= max_tokens and i not in echoes}
    chosen: list[int] = []
    left = max_tokens
    while eligible:
        best, best_score = -1, -math.inf
        for i in eligible:
            redundancy = max((_cosine(vectors[i], vectors[j]) for j in chosen), default=0.0)
            score = (1 - diversity) * salience[i] - diversity * redundancy
            if score > best_score:
                best, best_score = i, score
        eligible.discard(best)
        if redundancy_of(best, chosen, vectors) > 0.95:
            continue  # a near-duplicate of a chosen sentence
        if costs[best] + 1 <= left:
            chosen.append(best)
            left -= costs[best] + 1
        eligible = {i for i in eligible if costs[i] + 1 <= left}
    return "\n".join(candidates[i] for i in sorted(chosen))


def redundancy_of(i: int, chosen: Sequence[int], vectors: Sequence[dict[str, float]]) -> float:
    """Highest cosine between sentence ``i`` and the chosen ones."""
    return max((_cosine(vectors[i], vectors[j]) for j in chosen), default=0.0)
