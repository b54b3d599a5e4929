"""A scripted stand-in for the Anthropic Messages API, for running the real Claude CLI offline.

Point the bundled CLI at it with `cli_env(home)` (`ANTHROPIC_BASE_URL`, a dummy key, a throwaway
HOME). Every request is recorded; each `POST /v1/messages` of the agent's conversation (one that
offers tools) is answered by the script, see `tests.fakes.model_script`. Side calls without tools
get a short text and never consume the script; anything else gets an empty JSON answer.

    with ModelServer([Rule("PROJ-1", [write(path, "hi\n"), text("Wrote it")])]) as server:
        options = ClaudeAgentOptions(cwd=worktree, env=server.cli_env(home))
        ...
        assert "PROJ-1" in last_user_text(server.main_requests()[0])
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.fakes.model_script import (
    HANG,
    STRUCTURED_OUTPUT_TOOL,
    ModelRequest,
    Reply,
    Rule,
    Script,
    always,
    bash,
    edit,
    last_user_text,
    structured,
    text,
    tool,
    tool_result_text,
    tool_results,
    write,
)

__all__ = [
    "HANG",
    "STRUCTURED_OUTPUT_TOOL",
    "ModelRequest",
    "ModelServer",
    "Reply",
    "Rule",
    "Script",
    "always",
    "bash",
    "edit",
    "last_user_text",
    "structured",
    "text",
    "tool",
    "tool_result_text",
    "tool_results",
    "write",
]


class ModelServer:
    """The fake Messages API on 127.0.0.1 (a free port), served from a background thread."""

    def __init__(self, script: Sequence[Rule] | Script = (), *, default: Reply | None = None):
        self.script = script
        """Rules (first match wins; no match: `default`) or a callable; may be replaced anytime."""
        self.default = default or text("Done.")
        self._lock = threading.Lock()
        self._requests: list[ModelRequest] = []
        self._released = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ModelServer:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() waits for the loop
            name="fake-model-server",
            daemon=True,
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

    @property
    def requests(self) -> list[ModelRequest]:
        with self._lock:
            return list(self._requests)

    def main_requests(self) -> list[ModelRequest]:
        return [r for r in self.requests if r.is_main]

    def _record(self, request: ModelRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _answer(self, request: ModelRequest) -> Reply:
        if not request.is_main:
            return text("ok")
        script = self.script
        if callable(script):
            return script(request)
        rule = next((r for r in script if r.matches(request)), None)
        return rule.reply(request) if rule else self.default


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: ModelServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._record({})
        self._send_json(200, {})

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
        except Exception as exc:  # 400, not 500: the CLI retries a 5xx with backoff
            self._send_json(400, _api_error(f"fake model script failed: {exc!r}"))
            return
        if reply.hang:
            state._released.wait()
            self.close_connection = True
            return
        model = str(request.body.get("model") or "claude-fake")
        message_id = f"msg_{uuid.uuid4().hex[:20]}"
        # Fresh tool_use ids per answer: a scripted reply may be served many times.
        blocks = [
            {"id": f"toolu_{uuid.uuid4().hex[:20]}", **b} if b["type"] == "tool_use" else b
            for b in reply.blocks
        ]
        if request.body.get("stream"):
            self._send(200, _sse(message_id, model, reply, blocks), "text/event-stream")
        else:
            self._send_json(200, _message(message_id, model, reply, blocks))

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
    return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


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


def _sse(message_id: str, model: str, reply: Reply, blocks: list[dict[str, Any]]) -> bytes:
    """The reply as Messages API stream events."""
    start = _message(message_id, model, reply, [])
    start["usage"] = {**reply.usage, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for index, block in enumerate(blocks):
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
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


def _block_events(index: int, block: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    if block["type"] == "tool_use":
        start = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    yield (
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": start},
    )
    yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": index}
