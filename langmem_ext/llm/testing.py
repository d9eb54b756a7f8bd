"""A fake OpenAI-compatible chat server for tests: real HTTP, validated requests, scripted failures.

:class:`FakeOpenAIServer` listens on a free loopback port and speaks the chat-completions
protocol, so the real client path runs (``ChatOpenAI`` over HTTP, JSON schema, tool
calls). It checks every request the way a strict server would and answers a request it
finds wrong with a 400, keeping the problems in :attr:`FakeOpenAIServer.invalid`:

* ``messages`` (roles, content, tool calls and the tool messages that answer them),
* ``tools`` / ``tool_choice`` (function names, object parameters, a named choice that exists),
* ``response_format`` (``text``, ``json_object`` with "JSON" in the prompt, ``json_schema``
  with a name and a schema; strict schemas checked against OpenAI's strict-mode rules),
* ``max_tokens`` / ``max_completion_tokens``: required (``require_max_tokens``) and positive.

What it answers is scripted: :meth:`FakeOpenAIServer.script` queues :class:`Reply` values
(consumed in order), else ``handler(request)`` decides, else a minimal valid answer is
made from the requested schema. Server quirks are switches: ``json_schema=False`` rejects
``json_schema`` with HTTP 500 like llama-cpp-python's server, ``tools=False`` rejects
tools, ``context_window`` answers an over-long request with the 400 OpenAI sends, and
``slots=1`` serves one request at a time, like ``llama-server -np 1``.

Example:
    >>> from langchain_openai import ChatOpenAI
    >>> with FakeOpenAIServer() as server:
    ...     server.script(Reply.text("Hello!"))
    ...     model = ChatOpenAI(model="fake", base_url=server.url, api_key="x", max_retries=0)
    ...     model.bind(max_tokens=16).invoke("Hi").content
    'Hello!'
    >>> server.requests[0].max_tokens, server.invalid
    (16, [])
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langmem_ext.llm.structured import strict_problems

__all__ = ["FakeOpenAIServer", "FakeRequest", "Reply", "minimal_value"]

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


class FakeOpenAIServer:
    """A scripted, validating OpenAI-compatible server on a free loopback port (see module docstring).

    Args:
        handler: ``handler(request) -> Reply`` for requests the script does not cover.
        json_schema: Accept ``response_format`` ``json_schema`` (False: HTTP 500, as llama-cpp-python).
        tools: Accept ``tools`` (False: HTTP 400).
        json_mode: Accept ``response_format`` ``json_object`` (False: HTTP 400).
        context_window: Tokens of input + ``max_tokens`` the model takes (chars/4), else a 400.
        slots: Requests served at once (1: one at a time, like ``llama-server -np 1``).
        require_max_tokens: Reject requests without an output bound.
        model: The model name ``/v1/models`` lists.
    """

    def __init__(
        self,
        handler: Callable[[FakeRequest], Reply] | None = None,
        *,
        json_schema: bool = True,
        tools: bool = True,
        json_mode: bool = True,
        context_window: int | None = None,
        slots: int | None = None,
        require_max_tokens: bool = True,
        model: str = "fake-model",
    ) -> None:
        self.handler = handler
        self.json_schema, self.tools, self.json_mode = json_schema, tools, json_mode
        self.context_window = context_window
        self.require_max_tokens = require_max_tokens
        self.model = model
        self.requests: list[FakeRequest] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(slots) if slots else None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle --------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Listen on a free port of 127.0.0.1 (see :attr:`url`)."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to give a client (``.../v1``)."""
        if self._server is None:
            raise RuntimeError("FakeOpenAIServer is not started; use `with FakeOpenAIServer() as server:`.")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # ---- scripting and inspection -----------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue answers, used in order before ``handler``."""
        with self._lock:
            self._script.extend(replies)

    @property
    def invalid(self) -> list[str]:
        """Problems found in any request so far (the client sent something a server would refuse)."""
        return [p for r in self.requests for p in r.problems]

    def clear(self) -> None:
        """Forget the recorded requests and the script."""
        with self._lock:
            self.requests.clear()
            self._script.clear()

    # ---- serving ----------------------------------------------------------------------

    def _next_reply(self, request: FakeRequest) -> Reply:
        with self._lock:
            if self._script:
                return self._script.popleft()
        if self.handler is not None:
            return self.handler(request)
        schema = request.schema
        return Reply.structured(minimal_value(schema)) if schema is not None else Reply.text("OK.")

    def _quirk(self, request: FakeRequest) -> tuple[int, str] | None:
        body = request.body
        if request.method == "json_schema" and not self.json_schema:
            return 500, ("[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                         "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}]")
        if body.get("tools") and not self.tools:
            return 400, "tools are not supported by this server"
        if request.method == "json_mode" and not self.json_mode:
            return 400, "response_format json_object is not supported by this server"
        if self.context_window is not None:
            asked = (len(json.dumps(body.get("messages"))) + len(json.dumps(body.get("tools") or []))) // 4
            asked += request.max_tokens or 0
            if asked > self.context_window:
                return 400, (f"This model's maximum context length is {self.context_window} tokens. However, you "
                             f"requested {asked} tokens. Please reduce the length of the messages.")
        return None

    def respond(self, body: Any) -> tuple[int, dict[str, Any]]:
        """Handle one request body; returns (status, JSON answer)."""
        request = FakeRequest(body if isinstance(body, dict) else {"invalid": body}, started=time.monotonic())
        with self._lock:
            self.requests.append(request)
        request.problems = validate_request(body, require_max_tokens=self.require_max_tokens)
        if self._slots is not None:
            self._slots.acquire()
        try:
            return self._respond(request)
        finally:
            request.ended = time.monotonic()
            if self._slots is not None:
                self._slots.release()

    def _respond(self, request: FakeRequest) -> tuple[int, dict[str, Any]]:
        if request.problems:
            request.status = 400
            return 400, _error(400, "; ".join(request.problems))
        quirk = self._quirk(request)
        if quirk is not None:
            request.status = quirk[0]
            return quirk[0], _error(*quirk)
        reply = self._next_reply(request)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            request.status = reply.status
            return reply.status, _error(reply.status, reply.error)
        return 200, self._completion(request, reply)

    def _completion(self, request: FakeRequest, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if reply.json is not None:
            text = json.dumps(reply.json)
        else:
            text = reply.content if reply.content is not None else ""
        if reply.cut:
            text = text[: max(1, len(text) // 2)]
        if reply.tool_calls:
            message["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                                      "function": {"name": name, "arguments": json.dumps(args)}}
                                     for name, args in reply.tool_calls]
            finish = "tool_calls"
        elif request.method == "function_calling":
            arguments = reply.tool_arguments if reply.tool_arguments is not None and reply.json is None else text
            if reply.cut:
                arguments = text
            message["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                                      "function": {"name": request.schema_name, "arguments": arguments}}]
            finish = "length" if reply.cut else "tool_calls"
        else:
            message["content"] = text
            finish = reply.finish_reason
        prompt = len(json.dumps(request.body.get("messages"))) // 4
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
            "model": request.body.get("model") or self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": len(text) // 4 + 1,
                      "total_tokens": prompt + len(text) // 4 + 1},
        }


def _error(status: int, message: str) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    code = "context_length_exceeded" if "maximum context length" in message else None
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _handler_class(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
            else:
                self._send(404, _error(404, f"no route {self.path}"))

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, _error(404, f"no route {self.path}"))
                return
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = raw.decode(errors="replace")
            status, payload = server.respond(body)
            self._send(status, payload)

    return Handler
