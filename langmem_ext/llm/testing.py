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

This module holds the server (its HTTP side, scripting and quirks); the scripted
replies, the recorded requests and the request checks are written without I/O in
:mod:`langmem_ext.llm._fake_protocol` and imported from here.

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
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The scripted replies, recorded requests and request checks live in their own module
# (no I/O); this module serves them over HTTP and stays their public home.
from langmem_ext.llm._fake_protocol import FakeRequest, Reply, minimal_value, validate_request

__all__ = ["FakeOpenAIServer", "FakeRequest", "Reply", "minimal_value"]


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
