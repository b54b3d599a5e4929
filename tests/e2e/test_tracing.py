"""Langfuse tracing through the real service: a local receiver plays Langfuse's OTLP endpoint."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.tracing import trace_id
from tests.e2e.world import (
    GH_TOKEN,
    GOOD,
    WEBHOOK_TOKEN,
    Behaviour,
    World,
    post_ticket,
    world_fixture,
    writes,
)
from tests.fakes.model_server import Reply, bash, text, write
from tests.fakes.otlp_receiver import OtlpReceiver, Span
from tests.fakes.service import wait_until

PUBLIC_KEY = "pk-lf-e2e-public"
SECRET_KEY = "sk-lf-e2e-secret-0123456789"
STAGES = [
    "workspace",
    "setup",
    "implement",
    "review",
    "lint",
    "test",
    "commit",
    "push",
    "pull_request",
]
AGENT_SPAN = "ClaudeAgentSDK.ClaudeSDKClient.receive_response"


world = world_fixture("tracing")


@pytest.fixture
def langfuse() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


def keys(langfuse: OtlpReceiver) -> dict[str, str]:
    return {
        "LANGFUSE_PUBLIC_KEY": PUBLIC_KEY,
        "LANGFUSE_SECRET_KEY": SECRET_KEY,
        "LANGFUSE_BASE_URL": langfuse.url,
    }


CLAUDE_KEY = "sk-ant-fake-key"
"""The agent's own credential (from the model server's `cli_env`); its Bash can read it."""
PRINT_CLAUDE_KEY = 'python3 -c \'import os; print(os.environ["ANTHROPIC" + "_API_KEY"])\''


def misbehaves_then_works(worktree: Path, step: int) -> Reply:
    """A `git push` the guard must deny; its own credential printed; then the work."""
    if step == 0:
        return bash("git push origin HEAD")
    if step == 1:
        return bash(PRINT_CLAUDE_KEY)
    if step == 2:
        return write(worktree / "src" / f"{worktree.name}.py", GOOD)
    return text("Added greet().")


def trace(langfuse: OtlpReceiver, run_id: str) -> list[Span]:
    """The run's spans, once the span that closes the run has arrived."""

    def closed() -> list[Span] | None:
        spans = [s for s in langfuse.spans() if s.trace_id == trace_id(run_id)]
        return spans if any(s.name == "run_finished" for s in spans) else None

    return wait_until(closed, timeout=30, what=f"the trace of {run_id}")


def test_a_run_is_one_trace_with_a_span_per_stage_and_the_agents_turns_inside(
    world: World, langfuse: OtlpReceiver
) -> None:
    world.model.add("TRACE-1", Behaviour(misbehaves_then_works))
    service = world.service("traced", **keys(langfuse), MAX_TURNS="8").start()
    try:
        run_id = post_ticket(service, "TRACE-1")["run_id"]
        run = service.wait_for_run(run_id)
        spans = trace(langfuse, run_id)
    finally:
        service.stop()

    assert run["status"] == "succeeded", run.get("error")
    assert [d["rule"] for d in run["denials"]] == ["bash-git-push-commit"], "the guard still rules"
    assert {s.trace_id for s in langfuse.spans()} == {trace_id(run_id)}, "one trace per run"
    for span in spans:
        assert span.attributes["langfuse.trace.name"] == "TRACE-1", span.name
        assert span.attributes["session.id"] == "TRACE-1", span.name

    ours = {s.name: s for s in spans if s.scope == "langfuse-sdk"}
    assert sorted(ours) == sorted([*STAGES, "run_finished"])
    metadata = ours["run_finished"].attributes
    assert json.loads(metadata["langfuse.trace.metadata.status"]) == "succeeded"
    assert json.loads(metadata["langfuse.trace.metadata.cost_usd"]) == run["cost_usd"] > 0
    assert json.loads(metadata["langfuse.trace.metadata.turns"]) == run["turns"] > 0
    assert json.loads(metadata["langfuse.trace.metadata.run_id"]) == run_id

    agents = [s for s in spans if s.name == AGENT_SPAN]
    by_stage = {ours[name].span_id: name for name in STAGES}
    assert sorted(by_stage[a.parent_id] for a in agents) == ["implement", "review"]
    implement_agent = next(a for a in agents if by_stage[a.parent_id] == "implement")
    assert "TRACE-1" in implement_agent.attributes["input.value"]
    tools = [s for s in spans if s.attributes.get("openinference.span.kind") == "TOOL"]
    assert {t.name for t in tools if t.parent_id == implement_agent.span_id} == {"Bash", "Write"}
    commands = {json.loads(t.attributes["input.value"]).get("command"): t for t in tools}
    printed = commands[PRINT_CLAUDE_KEY].attributes["output.value"]
    assert "[redacted]" in printed, "the agent printed its credential; the trace has it redacted"

    received = langfuse.received()
    expected_auth = "Basic " + base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
    assert {r.headers["authorization"] for r in received} == {expected_auth}
    for request in received:
        for secret in (GH_TOKEN, WEBHOOK_TOKEN, SECRET_KEY, CLAUDE_KEY):
            assert secret.encode() not in request.body, "a secret reached the trace"
    assert SECRET_KEY not in service.logs()


def test_a_run_resumed_after_a_kill_carries_on_in_the_same_trace(
    world: World, langfuse: OtlpReceiver
) -> None:
    """The trace id comes from the run id, so the restarted process adds to the same trace."""
    hold = threading.Event()
    world.model.add("TRACE-2", Behaviour(writes(GOOD), hold=hold))
    service = world.service("traced-crash", **keys(langfuse), LANGFUSE_FLUSH_INTERVAL="0.1")
    service.start()
    try:
        run_id = post_ticket(service, "TRACE-2")["run_id"]
        wait_until(lambda: world.model.requests_of("TRACE-2"), timeout=60, what="the agent")

        def first_stages_sent() -> list[Span] | None:
            spans = langfuse.spans()
            return spans if {"workspace", "setup"} <= {s.name for s in spans} else None

        before_kill = wait_until(first_stages_sent, timeout=30, what="the first stages' spans")
        service.kill()
        hold.set()
        service.start()
        run = service.wait_for_run(run_id)
        spans = trace(langfuse, run_id)
    finally:
        service.stop()

    assert run["status"] == "succeeded", run.get("error")
    assert {s.trace_id for s in before_kill} == {trace_id(run_id)}
    after_restart = {s.name for s in spans if s.scope == "langfuse-sdk"} - {
        s.name for s in before_kill
    }
    assert after_restart == {*STAGES[2:], "run_finished"}
    assert {s.trace_id for s in langfuse.spans()} == {trace_id(run_id)}


def test_without_keys_nothing_is_sent_and_the_run_succeeds(
    world: World, langfuse: OtlpReceiver
) -> None:
    world.model.add("TRACE-3", Behaviour(writes(GOOD)))
    service = world.service("untraced", LANGFUSE_BASE_URL=langfuse.url).start()
    try:
        run = service.wait_for_run(post_ticket(service, "TRACE-3")["run_id"])
    finally:
        service.stop()  # a graceful exit would flush anything still batched

    assert run["status"] == "succeeded", run.get("error")
    assert langfuse.received() == []
