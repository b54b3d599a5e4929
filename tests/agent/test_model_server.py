"""The fake Messages API itself: the wire format the CLI reads, and what never reaches a script."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.model_server import ModelRequest, ModelServer, Reply, Rule, text, tool

TOOLS = [{"name": "Read", "input_schema": {"type": "object"}}]


def prompt(content: str, **body: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}], **body}


@pytest.fixture
def client(model: ModelServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=model.url, timeout=10) as http:
        yield http


def sse_events(raw: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]


def test_streaming_tool_use_in_messages_api_events(
    model: ModelServer, client: httpx.Client
) -> None:
    model.script = [Rule("read it", [tool("Read", {"file_path": "/x"}, say="Reading.")])]

    response = client.post("/v1/messages", json=prompt("read it", tools=TOOLS, stream=True))

    assert response.headers["content-type"] == "text/event-stream"
    events = sse_events(response.text)
    assert [e["type"] for e in events] == [
        "message_start",
        *["content_block_start", "content_block_delta", "content_block_stop"] * 2,
        "message_delta",
        "message_stop",
    ]
    tool_start, tool_delta = events[4], events[5]
    assert tool_start["content_block"]["type"] == "tool_use"
    assert tool_start["content_block"]["id"].startswith("toolu_")
    assert json.loads(tool_delta["delta"]["partial_json"]) == {"file_path": "/x"}
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_non_streaming_answer_and_fresh_tool_ids(model: ModelServer, client: httpx.Client) -> None:
    model.script = [Rule("go", [tool("Read", {"file_path": "/x"})])]

    first, second = (
        client.post("/v1/messages", json=prompt("go", tools=TOOLS)).json() for _ in range(2)
    )

    assert first["stop_reason"] == "tool_use" and first["content"][0]["input"] == {
        "file_path": "/x"
    }
    assert first["content"][0]["id"] != second["content"][0]["id"]


def test_side_calls_and_other_routes_never_reach_the_script(
    model: ModelServer, client: httpx.Client
) -> None:
    def script(_request: ModelRequest) -> Reply:
        raise AssertionError("the script was consulted")

    model.script = script

    side = client.post("/v1/messages", json=prompt("title this")).json()
    tokens = client.post("/v1/messages/count_tokens", json=prompt("x")).json()
    other = client.get("/api/hello")

    assert side["content"] == [{"type": "text", "text": "ok"}]
    assert tokens == {"input_tokens": 100} and other.json() == {}
    assert [r.is_main for r in model.requests] == [False, False, False]


def test_rules_answer_by_step_then_fall_back(model: ModelServer, client: httpx.Client) -> None:
    model.script = [Rule("go", [text("first")], then=text("later"))]
    model.default = text("nobody matched")
    later = prompt("go", tools=TOOLS)
    later["messages"] += [{"role": "assistant", "content": "first"}]

    answers = [
        client.post("/v1/messages", json=body).json()["content"][0]["text"]
        for body in (prompt("go", tools=TOOLS), later, prompt("other", tools=TOOLS))
    ]

    assert answers == ["first", "later", "nobody matched"]
