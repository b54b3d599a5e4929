"""A scripted stand-in for the Anthropic Messages API, for running the real Claude CLI offline.

The bundled CLI is pointed at it with `cli_env(...)` (`ANTHROPIC_BASE_URL` and friends). Every
request it receives is recorded, and each `POST /v1/messages` of the main conversation is answered
by the script: a list of `Rule`s (first match wins) or any callable `ModelRequest -> Reply`.

Scripts are stateless: a rule picks its reply by *step*, the number of assistant messages since
the prompt that started the current turn, so a retried request gets the same answer and a resumed
session's new prompt starts again at step 0. Requests without tools (side calls the CLI makes for
its own purposes) never reach the script; they get a short plain text.

    with ModelServer([Rule("PROJ-1", [write("a.txt", "hi"), text("Wrote a.txt")])]) as server:
        env = server.cli_env(home)          # pass as ClaudeAgentOptions.env
        ...
        assert "PROJ-1" in last_user_text(server.main_requests()[0])
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STRUCTURED_OUTPUT_TOOL = "StructuredOutput"
"""The synthetic tool the CLI offers when `--json-schema` (`output_format`) is set."""


@dataclass(frozen=True)
class ModelRequest:
    """One HTTP request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def tool_names(self) -> list[str]:
        return [tool.get("name", "") for tool in self.body.get("tools") or []]

    @property
    def is_messages_call(self) -> bool:
        return self.method == "POST" and self.path.split("?")[0] == "/v1/messages"

    @property
    def is_main(self) -> bool:
        """A turn of the agent's conversation (it offers tools), not a side call of the CLI."""
        return self.is_messages_call and bool(self.tool_names)

    @property
    def session_id(self) -> str | None:
        return _header(self.headers, "x-claude-code-session-id")

    @property
    def step(self) -> int:
        """Assistant messages since the prompt that started this turn: 0 on a fresh prompt."""
        index = _prompt_index(self.messages)
        return sum(1 for m in self.messages[index + 1 :] if m.get("role") == "assistant")

    def dump(self) -> str:
        """Everything the model was sent, as one string (for leak checks)."""
        return json.dumps({"headers": self.headers, "body": self.body})


@dataclass(frozen=True)
class Reply:
    """What the model answers: content blocks and a stop reason, or a hang."""

    blocks: tuple[dict[str, Any], ...] = ()
    stop_reason: str = "end_turn"
    hang: bool = False
    usage: dict[str, int] = field(
        default_factory=lambda: {"input_tokens": 100, "output_tokens": 20}
    )


Script = Callable[[ModelRequest], Reply]


@dataclass(frozen=True)
class Rule:
    """Answer conversations whose current prompt matches, one reply per step.

    `match` is a substring of the current prompt (`last_user_text`) or a predicate on the
    request. Past the last reply, `then` answers (by default a plain end of turn).
    """

    match: str | Callable[[ModelRequest], bool]
    replies: Sequence[Reply]
    then: Reply | None = None

    def matches(self, request: ModelRequest) -> bool:
        if callable(self.match):
            return self.match(request)
        return self.match in last_user_text(request)

    def reply(self, request: ModelRequest) -> Reply:
        step = request.step
        if step < len(self.replies):
            return self.replies[step]
        return self.then or text("Done.")


def text(value: str) -> Reply:
    """End the turn with a text answer."""
    return Reply(({"type": "text", "text": value},))


def tool(name: str, tool_input: dict[str, Any], *, say: str = "") -> Reply:
    """Call one tool (optionally after a sentence of text)."""
    block = {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:20]}", "name": name}
    blocks = ({"type": "text", "text": say},) if say else ()
    return Reply((*blocks, {**block, "input": tool_input}), stop_reason="tool_use")


def write(path: str | Path, content: str) -> Reply:
    return tool("Write", {"file_path": str(path), "content": content})


def edit(path: str | Path, old: str, new: str) -> Reply:
    return tool("Edit", {"file_path": str(path), "old_string": old, "new_string": new})


def bash(command: str) -> Reply:
    return tool("Bash", {"command": command, "description": "scripted command"})


def structured(data: dict[str, Any]) -> Reply:
    """Answer an `output_format` session: the CLI takes the tool's input as the result."""
    return tool(STRUCTURED_OUTPUT_TOOL, data)


HANG = Reply(hang=True)
"""Never answer (until the server stops): for timeout tests."""


def always(reply: Reply) -> Script:
    return lambda _request: reply


def last_user_text(request: ModelRequest) -> str:
    """The text of the prompt that started the current turn, without CLI system reminders."""
    messages = request.messages
    if not messages:
        return ""
    parts = [
        block.get("text", "")
        for block in _blocks(messages[_prompt_index(messages)])
        if block.get("type") == "text"
        and not block.get("text", "").lstrip().startswith("<system-reminder>")
    ]
    return "\n".join(parts)


def tool_results(request: ModelRequest) -> list[dict[str, Any]]:
    """The tool_result blocks of the request's last user message (the answers to the last call)."""
    users = [m for m in request.messages if m.get("role") == "user"]
    if not users:
        return []
    return [b for b in _blocks(users[-1]) if b.get("type") == "tool_result"]


def tool_result_text(result: dict[str, Any]) -> str:
    content = result.get("content")
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
    return str(content or "")


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def _prompt_index(messages: list[dict[str, Any]]) -> int:
    """Index of the last user message that is a prompt rather than tool results."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") == "user" and not any(
            b.get("type") == "tool_result" for b in _blocks(message)
        ):
            return index
    return 0


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


class ModelServer:
    """The fake Messages API on 127.0.0.1 (a free port), served from a background thread."""

    def __init__(
        self,
        script: Sequence[Rule] | Script = (),
        *,
        default: Reply | None = None,
        side_reply: str = "ok",
    ) -> None:
        self._lock = threading.Lock()
        self._requests: list[ModelRequest] = []
        self._released = threading.Event()
        self.script = script
        self.default = default or text("Done.")
        self.side_reply = side_reply
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> ModelServer:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-model-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()  # let hanging handlers return
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._httpd = self._thread = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def cli_env(self, home: Path, *, api_key: str = "sk-ant-fake-key") -> dict[str, str]:
        """Environment for the CLI: this server, a dummy key, a throwaway HOME, no extra traffic."""
        return {
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": api_key,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "HOME": str(home),
        }

    # recording -----------------------------------------------------------------------------
    @property
    def requests(self) -> list[ModelRequest]:
        with self._lock:
            return list(self._requests)

    def main_requests(self) -> list[ModelRequest]:
        return [r for r in self.requests if r.is_main]

    def wait_for(
        self, predicate: Callable[[ModelRequest], bool], timeout_s: float = 20
    ) -> ModelRequest:
        """Poll until a recorded request satisfies `predicate`; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = next((r for r in self.requests if predicate(r)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError("no matching request reached the fake model server")
            time.sleep(0.02)

    def _record(self, request: ModelRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _answer(self, request: ModelRequest) -> Reply:
        if not request.is_main:
            return text(self.side_reply)
        script = self.script
        if callable(script):
            return script(request)
        rule = next((r for r in script if r.matches(request)), None)
        return rule.reply(request) if rule else self.default

    def _wait_released(self) -> None:
        self._released.wait()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: ModelServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._record({})
        self._send_json(200, {})

    def do_HEAD(self) -> None:
        self._record({})
        self._send(200, b"", "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", errors="replace")}
        request = self._record(body if isinstance(body, dict) else {"_raw": body})
        route = self.path.split("?")[0]
        if route == "/v1/messages/count_tokens":
            self._send_json(200, {"input_tokens": 100})
        elif request.is_messages_call:
            self._messages(request)
        else:
            self._send_json(200, {})

    def _messages(self, request: ModelRequest) -> None:
        state = self.server_state
        try:
            reply = state._answer(request)
        except Exception as exc:  # a broken script must show up in the test, not hang it
            self._send_json(500, _api_error(f"fake model script failed: {exc!r}"))
            return
        if reply.hang:
            state._wait_released()
            self.close_connection = True
            return
        model = str(request.body.get("model") or "claude-fake")
        message_id = f"msg_{uuid.uuid4().hex[:20]}"
        if request.body.get("stream"):
            self._send(200, _sse(message_id, model, reply), "text/event-stream")
        else:
            self._send_json(200, _message(message_id, model, reply, list(reply.blocks)))

    def _record(self, body: dict[str, Any]) -> ModelRequest:
        request = ModelRequest(self.command, self.path, dict(self.headers.items()), body)
        self.server_state._record(request)
        return request

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _api_error(message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "api_error", "message": message}}


def _message(
    message_id: str, model: str, reply: Reply, content: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.stop_reason if content else None,
        "stop_sequence": None,
        "usage": dict(reply.usage),
    }


def _sse(message_id: str, model: str, reply: Reply) -> bytes:
    """The reply as Messages API stream events."""
    start = _message(message_id, model, reply, [])
    start["usage"] = {**reply.usage, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for index, block in enumerate(reply.blocks):
        events.extend(_block_events(index, block))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": reply.usage.get("output_tokens", 1)},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


def _block_events(index: int, block: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    if block["type"] == "tool_use":
        start = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
    yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": index}
