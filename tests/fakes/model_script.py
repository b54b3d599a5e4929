"""The vocabulary of a fake-model script: recorded requests, replies, rules and readers.

A rule picks its reply by *step*, the number of assistant messages since the prompt that started
the current turn. Scripts are therefore stateless: a retried request gets the same answer, and a
resumed session's new prompt (a fix request) starts again at step 0.

    Rule("PROJ-1", [write(worktree / "a.py", "x = 1\n"), text("Added a.py")])
    Rule("REVIEW", [tool("Read", {"file_path": ...}), structured({"has_issues": False, ...})])
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SESSION_HEADER = "x-claude-code-session-id"
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
        """The CLI's session id (header `X-Claude-Code-Session-Id`); a resume keeps it."""
        return next((v for k, v in self.headers.items() if k.lower() == SESSION_HEADER), None)

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
    blocks = ({"type": "text", "text": say},) if say else ()
    return Reply((*blocks, {"type": "tool_use", "name": name, "input": tool_input}), "tool_use")


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
