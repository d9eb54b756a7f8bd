"""What the fake OpenAI-compatible server speaks, without the server (no I/O).

* :class:`Reply`: the scripted answers (text, structured, a tool call, raw text, an HTTP
  failure, a hang, an answer cut at the length limit);
* :class:`FakeRequest`: a request as the server recorded it, with what it asked for;
* :func:`validate_request`: the checks a strict server makes of a chat-completions body;
* :func:`minimal_value`: the smallest answer valid under a requested JSON schema.

:mod:`langmem_ext.llm.testing` serves them over HTTP (:class:`~langmem_ext.llm.testing.FakeOpenAIServer`)
and is where to import them from.

Example:
    >>> validate_request({"model": "m", "messages": [{"role": "user", "content": "Hi"}]})
    ['max_tokens (or max_completion_tokens) is required by this server']
    >>> FakeRequest({"response_format": {"type": "json_object"}}).method
    'json_mode'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langmem_ext.llm.structured import strict_problems

__all__ = ["FakeRequest", "Reply", "minimal_value", "validate_request"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = {"system", "developer", "user", "assistant", "tool"}


@dataclass
class Reply:
    """One scripted answer (build it with the class methods)."""

    content: str | None = None
    json: Any = None
    tool_arguments: str | None = None
    status: int = 200
    error: str = ""
    delay: float = 0.0
    finish_reason: str = "stop"
    cut: bool = False
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @classmethod
    def text(cls, text: str, *, delay: float = 0.0) -> Reply:
        """A plain text answer."""
        return cls(content=text, delay=delay)

    @classmethod
    def structured(cls, value: Any, *, delay: float = 0.0) -> Reply:
        """A JSON answer, in the content or as the tool call, whichever the request asked for."""
        return cls(json=value, delay=delay)

    @classmethod
    def tool_call(cls, name: str, arguments: dict[str, Any]) -> Reply:
        """An assistant message calling tool ``name`` (for a request with tools and ``tool_choice`` auto)."""
        return cls(tool_calls=[(name, arguments)])

    @classmethod
    def raw(cls, text: str) -> Reply:
        """This exact text as content (or as tool-call arguments): e.g. text that is not JSON."""
        return cls(content=text, tool_arguments=text)

    @classmethod
    def failure(cls, status: int, message: str = "") -> Reply:
        """An HTTP error with OpenAI's error body."""
        return cls(status=status, error=message or f"scripted HTTP {status}")

    @classmethod
    def hang(cls, seconds: float) -> Reply:
        """No answer for ``seconds`` (a client timeout shorter than that fails the request)."""
        return cls(content="(too late)", delay=seconds)

    @classmethod
    def cut_off(cls, value: Any) -> Reply:
        """The answer cut at the length limit: half of it, ``finish_reason="length"``."""
        return cls(json=value if not isinstance(value, str) else None, content=value if isinstance(value, str) else None,
                   cut=True, finish_reason="length")


@dataclass
class FakeRequest:
    """A request the server received (validated; ``problems`` is empty when it was correct)."""

    body: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    status: int = 200
    started: float = 0.0
    ended: float = 0.0

    @property
    def method(self) -> str:
        """``json_schema``, ``function_calling``, ``json_mode`` or ``text``."""
        fmt = (self.body.get("response_format") or {}).get("type")
        if fmt == "json_schema":
            return "json_schema"
        if self.body.get("tools") and self.body.get("tool_choice") not in (None, "none", "auto"):
            return "function_calling"
        if fmt == "json_object":
            return "json_mode"
        return "text"

    @property
    def schema(self) -> dict[str, Any] | None:
        """The JSON schema the answer must follow (None for text)."""
        if self.method == "json_schema":
            return self.body["response_format"]["json_schema"].get("schema")
        if self.method == "function_calling":
            return self.body["tools"][0]["function"].get("parameters")
        return None

    @property
    def schema_name(self) -> str | None:
        if self.method == "json_schema":
            return self.body["response_format"]["json_schema"].get("name")
        if self.method == "function_calling":
            return self.body["tools"][0]["function"].get("name")
        return None

    @property
    def max_tokens(self) -> int | None:
        return self.body.get("max_tokens", self.body.get("max_completion_tokens"))

    @property
    def text(self) -> str:
        """Every message's text, joined."""
        return "\n".join(_content_text(m.get("content")) for m in self.body.get("messages") or [])

    @property
    def last_user(self) -> str:
        users = [m for m in self.body.get("messages") or [] if m.get("role") == "user"]
        return _content_text(users[-1].get("content")) if users else ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def minimal_value(schema: Mapping[str, Any]) -> Any:
    """The smallest value valid under a (simple) JSON schema: ``{}`` / ``[]`` / ``""`` / the minimum.

    Example:
        >>> minimal_value({"type": "object", "properties": {"items": {"type": "array"}}, "required": ["items"]})
        {'items': []}
    """
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {k: minimal_value(schema["properties"][k]) for k in schema.get("required") or []}
    if kind == "array":
        return [minimal_value(schema.get("items") or {})] * int(schema.get("minItems", 0))
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return ""


def _check_messages(messages: Any) -> list[str]:
    if not isinstance(messages, list) or not messages:
        return ["messages must be a non-empty list"]
    problems: list[str] = []
    pending: set[str] = set()
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            problems.append(f"messages[{i}]: role must be one of {sorted(_ROLES)}")
            continue
        role, content = m["role"], m.get("content")
        if role != "tool" and pending:
            problems.append(f"messages[{i}]: tool calls {sorted(pending)} have no tool message")
            pending.clear()
        if role == "assistant" and m.get("tool_calls"):
            for call in m["tool_calls"]:
                fn = call.get("function") or {}
                if call.get("type") != "function" or not call.get("id") or not fn.get("name"):
                    problems.append(f"messages[{i}]: a tool call needs id, type 'function' and a function name")
                    continue
                try:
                    json.loads(fn.get("arguments") or "")
                except ValueError:
                    problems.append(f"messages[{i}]: tool call arguments must be a JSON string")
                pending.add(call["id"])
        elif role == "tool":
            if m.get("tool_call_id") not in pending:
                problems.append(f"messages[{i}]: tool message answers no pending tool call")
            pending.discard(m.get("tool_call_id"))
        if content is None and not (role == "assistant" and m.get("tool_calls")):
            problems.append(f"messages[{i}]: content is missing")
        elif content is not None and not isinstance(content, (str, list)):
            problems.append(f"messages[{i}]: content must be a string or a list of parts")
    if pending:
        problems.append(f"tool calls {sorted(pending)} have no tool message")
    return problems


def _check_tools(body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    tools = body.get("tools")
    names: set[str] = set()
    if tools is not None:
        if not isinstance(tools, list) or not tools:
            return ["tools must be a non-empty list"]
        for i, tool in enumerate(tools):
            fn = tool.get("function") if isinstance(tool, dict) else None
            if tool.get("type") != "function" or not isinstance(fn, dict) or not _NAME.match(str(fn.get("name", ""))):
                problems.append(f"tools[{i}]: needs type 'function' and a function name matching {_NAME.pattern}")
                continue
            names.add(fn["name"])
            params = fn.get("parameters")
            if params is not None and (not isinstance(params, dict) or params.get("type") != "object"):
                problems.append(f"tools[{i}]: parameters must be an object schema")
            if fn.get("strict") and params is not None:
                problems += [f"tools[{i}]: {p}" for p in strict_problems(params)]
    choice = body.get("tool_choice")
    if choice is not None:
        if tools is None:
            problems.append("tool_choice without tools")
        elif isinstance(choice, str):
            if choice not in ("none", "auto", "required"):
                problems.append(f"tool_choice {choice!r} is not none/auto/required")
        elif not (isinstance(choice, dict) and choice.get("type") == "function"
                  and (choice.get("function") or {}).get("name") in names):
            problems.append("tool_choice must name one of the tools")
    return problems


def _check_format(body: dict[str, Any]) -> list[str]:
    fmt = body.get("response_format")
    if fmt is None:
        return []
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return []
    if kind == "json_object":
        if "json" not in "\n".join(_content_text(m.get("content")) for m in body.get("messages") or []).lower():
            return ["response_format json_object needs the word JSON in the messages"]
        return []
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not _NAME.match(str(spec.get("name", ""))):
            return ["response_format.json_schema needs a name matching " + _NAME.pattern]
        schema = spec.get("schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            return ["response_format.json_schema.schema must be an object schema"]
        return strict_problems(schema) if spec.get("strict") else []
    return [f"response_format type {kind!r} is not text, json_object or json_schema"]


def validate_request(body: Any, *, require_max_tokens: bool = True) -> list[str]:
    """What is wrong with a chat-completions request body (empty when nothing)."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems: list[str] = []
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("model is required")
    problems += _check_messages(body.get("messages"))
    problems += _check_tools(body)
    problems += _check_format(body)
    bounds = [body[k] for k in ("max_tokens", "max_completion_tokens") if k in body]
    if not bounds and require_max_tokens:
        problems.append("max_tokens (or max_completion_tokens) is required by this server")
    if any(not isinstance(b, int) or isinstance(b, bool) or b < 1 for b in bounds):
        problems.append("max_tokens must be a positive integer")
    if len(set(map(str, bounds))) > 1:
        problems.append("max_tokens and max_completion_tokens disagree")
    if body.get("stream"):
        problems.append("stream is not supported by this fake server")
    return problems

