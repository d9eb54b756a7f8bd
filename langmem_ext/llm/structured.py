"""Structured output that adapts to the server: the request per method, and reading the answer.

Three ways to ask an OpenAI-compatible server for JSON, tried in this order per endpoint:

1. ``json_schema``: ``response_format={"type": "json_schema", ...}``, ``strict`` on OpenAI
   (elsewhere the server's grammar enforces the schema, ``maxLength`` included);
2. ``function_calling``: one tool whose parameters are the schema, and ``tool_choice``
   forcing it (by name on OpenAI, ``"required"`` elsewhere: llama.cpp takes no name);
3. ``json_mode``: ``response_format={"type": "json_object"}`` and the schema in the prompt.

A method the server rejects is remembered for that endpoint (:mod:`.endpoint`); OpenAI's
own API keeps ``json_schema``; ``LANGMEM_EXT_STRUCTURED_METHOD`` forces one. Models that
are not OpenAI-compatible use their own ``with_structured_output`` (method ``provider``).

Whatever the method, the answer goes through :func:`parse_output` (JSON out of content or
tool arguments, tolerant of code fences and text around it) and then the caller's own
validation, so the schema is checked on our side on every path.

Schemas are plain JSON schemas written to OpenAI's strict-mode rules (:func:`strict_problems`
checks them): every object closes ``additionalProperties`` and requires all its properties,
no ``default``. ``maxLength`` is not allowed there, so :func:`for_endpoint` moves it into
the description for OpenAI and keeps it for servers whose grammars enforce it (llama.cpp).

Example:
    >>> schema = {"type": "object", "additionalProperties": False, "required": ["n"],
    ...           "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 10}}}
    >>> strict_problems(schema)
    []
    >>> parse_output("json_mode", AIMessage('Sure! ```json\\n{"n": 3}\\n```'))
    {'n': 3}
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage

from langmem_ext.llm.failures import OutputError

__all__ = [
    "METHODS",
    "Method",
    "for_endpoint",
    "forced_method",
    "method_order",
    "parse_output",
    "request_options",
    "strict_problems",
]

Method = Literal["json_schema", "function_calling", "json_mode", "provider"]
METHODS: tuple[Method, ...] = ("json_schema", "function_calling", "json_mode")

#: Keywords OpenAI's strict mode accepts in a schema.
STRICT_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$ref", "$defs",
    "description", "title", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minItems", "maxItems",
})


def strict_problems(schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """What in ``schema`` breaks OpenAI's strict-mode rules (empty when none)."""
    problems: list[str] = []
    for key in schema:
        if key not in STRICT_KEYWORDS:
            problems.append(f"{path}: keyword {key!r} is not allowed in strict mode")
    types = schema.get("type")
    if types == "object" or (isinstance(types, list) and "object" in types):
        props = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False:
            problems.append(f"{path}: objects need additionalProperties: false")
        if set(schema.get("required") or []) != set(props):
            problems.append(f"{path}: every property must be required")
        for name, sub in props.items():
            problems += strict_problems(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), Mapping):
        problems += strict_problems(schema["items"], f"{path}[]")
    for i, sub in enumerate(schema.get("anyOf") or []):
        problems += strict_problems(sub, f"{path}|{i}")
    for name, sub in (schema.get("$defs") or {}).items():
        problems += strict_problems(sub, f"$defs.{name}")
    return problems


def for_endpoint(schema: Mapping[str, Any], *, is_openai: bool) -> dict[str, Any]:
    """``schema`` as sent to one server: for OpenAI, ``maxLength`` / ``minLength`` become words."""
    out = copy.deepcopy(dict(schema))
    if not is_openai:
        return out

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            limit = node.pop("maxLength", None)
            node.pop("minLength", None)
            if limit is not None:
                node["description"] = f"{node.get('description', '')} At most {limit} characters.".strip()
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def forced_method(env: Mapping[str, str] | None = None) -> Method | None:
    """The method ``LANGMEM_EXT_STRUCTURED_METHOD`` forces, if any.

    Raises:
        ValueError: an unknown method name.
    """
    raw = ((os.environ if env is None else env).get("LANGMEM_EXT_STRUCTURED_METHOD") or "").strip().lower()
    if not raw or raw == "auto":
        return None
    if raw not in METHODS:
        raise ValueError(
            f"LANGMEM_EXT_STRUCTURED_METHOD={raw!r} is not a method; use json_schema, function_calling, "
            "json_mode or auto."
        )
    return raw  # type: ignore[return-value]


def method_order(*, is_openai: bool, openai_compatible: bool, rejected: Sequence[str] = (),
                 env: Mapping[str, str] | None = None) -> list[Method]:
    """The methods to try, in order, for an endpoint.

    Example:
        >>> method_order(is_openai=False, openai_compatible=True, rejected=["json_schema"])
        ['function_calling', 'json_mode']
        >>> method_order(is_openai=True, openai_compatible=True)
        ['json_schema']
    """
    forced = forced_method(env)
    if not openai_compatible:
        return ["provider"]
    if forced is not None:
        return [forced]
    if is_openai:
        return ["json_schema"]
    return [m for m in METHODS if m not in rejected] or ["json_mode"]


def request_options(method: Method, *, name: str, description: str, schema: Mapping[str, Any],
                    is_openai: bool) -> dict[str, Any]:
    """The keyword arguments that ask for ``schema`` with ``method`` (bound to a ChatOpenAI)."""
    body = for_endpoint(schema, is_openai=is_openai)
    if method == "json_schema":
        spec: dict[str, Any] = {"name": name, "description": description, "schema": body}
        if is_openai:  # strict decoding; other servers enforce the schema with their grammar (maxLength too)
            spec["strict"] = True
        return {"response_format": {"type": "json_schema", "json_schema": spec}}
    if method == "function_calling":
        function: dict[str, Any] = {"name": name, "description": description, "parameters": body}
        if is_openai:
            function["strict"] = True
        choice: Any = {"type": "function", "function": {"name": name}} if is_openai else "required"
        return {"tools": [{"type": "function", "function": function}], "tool_choice": choice}
    if method == "json_mode":
        return {"response_format": {"type": "json_object"}}
    raise ValueError(f"No request options for method {method!r}.")


def json_mode_instruction(schema: Mapping[str, Any]) -> SystemMessage:
    """The message that tells a model in JSON mode what to return (json_object has no schema)."""
    return SystemMessage(
        "Reply with ONE JSON object and nothing else. It must match this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":"))
    )


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def _loads(text: str) -> Any:
    text = text.strip()
    if not text:
        raise OutputError("empty", "the model returned no text")
    candidates = [text, *_FENCE.findall(text)]
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start >= 0:
        candidates.append(text[start:])
        end = max(text.rfind("}"), text.rfind("]"))
        if end > start:
            candidates.append(text[start:end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise OutputError("invalid", f"the answer is not JSON: {text[:80]!r}", raw=text)


def _content(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)


def parse_output(method: Method, message: Any) -> Any:
    """The JSON value in a model's answer for ``method``.

    Raises:
        OutputError: kind ``length`` (cut at ``max_tokens``), ``invalid`` (not JSON) or
            ``empty`` (no content, no tool call).
    """
    if not isinstance(message, BaseMessage):  # a provider's parsed output
        if message is None:
            raise OutputError("empty", "the model returned nothing")
        return message.model_dump() if hasattr(message, "model_dump") else message
    finish = (message.response_metadata or {}).get("finish_reason")
    if method == "function_calling":
        calls = getattr(message, "tool_calls", None) or []
        if calls:
            return calls[0]["args"]
        bad = getattr(message, "invalid_tool_calls", None) or []
        if bad:
            raw = str(bad[0].get("args") or "")
            if finish == "length":
                raise OutputError("length", "the tool call was cut at max_tokens", raw=raw)
            raise OutputError("invalid", f"the tool call's arguments are not JSON: {raw[:80]!r}", raw=raw)
        text = _content(message)
        if not text.strip():
            raise OutputError("length" if finish == "length" else "empty", "the model called no tool")
        return _loads(text)  # some servers answer in content despite tool_choice
    text = _content(message)
    try:
        return _loads(text)
    except OutputError as exc:
        if finish == "length":
            raise OutputError("length", "the answer was cut at max_tokens", raw=text) from exc
        raise
