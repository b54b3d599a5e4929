"""The sessions drive the real bundled CLI; the scripted model server plays the model."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from app.agent import AgentLimits, fix, implement, implementation_prompt, start_warm
from app.agent.sessions import incomplete
from app.config import Settings
from app.errors import AgentError
from app.ticket import Ticket
from tests.agent.conftest import cli_children, wait_for_no_cli
from tests.fakes.model_server import (
    HANG,
    ModelRequest,
    ModelServer,
    Reply,
    Rule,
    always,
    bash,
    edit,
    last_user_text,
    text,
    tool_result_text,
    tool_results,
    write,
)

TICKET = Ticket(key="PROJ-1", summary="Add a greeting", description="Say *hello*.")


def tool_outputs(model: ModelServer) -> list[str]:
    return [tool_result_text(r) for req in model.main_requests() for r in tool_results(req)]


async def test_implement_writes_a_file_with_the_real_write_tool(
    model: ModelServer, env: dict[str, str], worktree: Path, limits: AgentLimits
) -> None:
    model.script = [
        Rule("PROJ-1", [write(worktree / "greet.py", "print('hello')\n"), text("Added greet.py")])
    ]

    result = await implement(
        implementation_prompt(TICKET), worktree=worktree, limits=limits, env=env
    )

    assert (worktree / "greet.py").read_text() == "print('hello')\n"
    assert (result.text, result.subtype, result.is_error) == ("Added greet.py", "success", False)
    assert result.turns == 2 and result.cost_usd > 0 and result.session_id
    assert result.denials == []
    first = model.main_requests()[0]
    assert "<ticket-description>\nSay *hello*.\n</ticket-description>" in last_user_text(first)
    assert "Do not commit, push" in json.dumps(first.body["system"])
    assert first.session_id == result.session_id


async def test_warm_session_starts_before_the_prompt_and_is_used_by_implement(
    model: ModelServer, env: dict[str, str], worktree: Path, limits: AgentLimits
) -> None:
    model.script = [Rule("PROJ-1", [write(worktree / "warm.txt", "warm\n"), text("done")])]

    warm = await start_warm(worktree, limits, env)
    await warm.ready()
    assert len(cli_children()) == 1 and model.main_requests() == []

    result = await implement(
        implementation_prompt(TICKET), worktree=worktree, limits=limits, env=env, warm=warm
    )

    assert (worktree / "warm.txt").exists() and result.text == "done"


async def test_an_unused_warm_session_closes_its_cli(
    env: dict[str, str], worktree: Path, limits: AgentLimits
) -> None:
    warm = await start_warm(worktree, limits, env)  # closed while still connecting
    await warm.close()
    assert wait_for_no_cli() == []


async def test_fix_resumes_the_implementation_session(
    model: ModelServer, env: dict[str, str], worktree: Path, limits: AgentLimits
) -> None:
    target = worktree / "greet.py"
    model.script = [
        Rule("PROJ-1", [write(target, "print('helo')\n"), text("Added greet.py")]),
        Rule("lint gate failed", [edit(target, "helo", "hello"), text("Fixed the typo")]),
    ]
    first = await implement(
        implementation_prompt(TICKET), worktree=worktree, limits=limits, env=env
    )
    implement_requests = len(model.main_requests())

    second = await fix(
        "The lint gate failed: typo 'helo'",
        worktree=worktree,
        session_id=first.session_id,
        limits=limits,
        env=env,
    )

    assert second.session_id == first.session_id
    assert target.read_text() == "print('hello')\n" and second.text == "Fixed the typo"
    fix_request = model.main_requests()[implement_requests]
    history = json.dumps(fix_request.messages)
    assert "PROJ-1" in history and "helo" in history and "Added greet.py" in history
    assert last_user_text(fix_request) == "The lint gate failed: typo 'helo'"


async def test_turn_limit_is_a_result_not_an_error(
    model: ModelServer, env: dict[str, str], worktree: Path
) -> None:
    model.script = always(bash("true"))
    limits = AgentLimits(max_turns=2, max_budget_usd=5.0, timeout_s=60)

    result = await implement("PROJ-1 loop", worktree=worktree, limits=limits, env=env)

    assert (result.subtype, result.is_error) == ("error_max_turns", True)
    error = incomplete(result, Settings(max_turns=2))
    assert error.subtype == "error_max_turns" and "MAX_TURNS=2" in str(error)


async def test_budget_limit_is_a_result_not_an_error(
    model: ModelServer, env: dict[str, str], worktree: Path
) -> None:
    expensive = replace(bash("true"), usage={"input_tokens": 2_000_000, "output_tokens": 10})
    model.script = always(expensive)
    limits = AgentLimits(max_turns=10, max_budget_usd=0.5, timeout_s=60)

    result = await implement("PROJ-1 spend", worktree=worktree, limits=limits, env=env)

    assert (result.subtype, result.is_error) == ("error_max_budget_usd", True)
    assert result.cost_usd > 0.5


async def test_a_hanging_model_times_out_and_leaves_no_cli(
    model: ModelServer, env: dict[str, str], worktree: Path
) -> None:
    model.script = always(HANG)
    limits = AgentLimits(max_turns=10, max_budget_usd=5.0, timeout_s=8)

    started = time.monotonic()
    with pytest.raises(AgentError) as raised:
        await implement("PROJ-1", worktree=worktree, limits=limits, env=env)

    assert raised.value.subtype == "timeout"
    assert time.monotonic() - started < limits.timeout_s + 5
    assert model.main_requests(), "the prompt reached the model before it hung"
    assert wait_for_no_cli(timeout_s=5) == []


async def test_cancelling_a_session_stops_its_cli(
    model: ModelServer, env: dict[str, str], worktree: Path, limits: AgentLimits
) -> None:
    """A run cancelled mid-session (service shutdown) must not leave the CLI running."""
    asked = threading.Event()

    def hang_once_asked(_request: ModelRequest) -> Reply:
        asked.set()
        return HANG

    model.script = hang_once_asked
    session = asyncio.create_task(implement("PROJ-1", worktree=worktree, limits=limits, env=env))
    assert await asyncio.to_thread(asked.wait, 20), "the prompt never reached the model"

    session.cancel()
    with pytest.raises(asyncio.CancelledError):
        await session

    assert wait_for_no_cli(timeout_s=5) == []


async def test_an_api_failure_raises_agent_error(
    model: ModelServer, env: dict[str, str], worktree: Path, limits: AgentLimits
) -> None:
    def broken(_request: ModelRequest) -> Reply:
        raise RuntimeError("script bug")

    model.script = broken

    with pytest.raises(AgentError) as raised:
        await implement("PROJ-1", worktree=worktree, limits=replace(limits, timeout_s=20), env=env)

    assert raised.value.subtype == "api_error" and "400" in str(raised.value)


async def test_guard_denies_writes_outside_the_worktree_and_git_push(
    model: ModelServer, env: dict[str, str], worktree: Path, limits: AgentLimits, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    model.script = [
        Rule(
            "PROJ-1",
            [
                write(outside, "escaped\n"),
                write(worktree / "../../escaped.txt", "escaped\n"),
                bash("git add -A && git push origin HEAD"),
                text("I could not push"),
            ],
        )
    ]

    result = await implement("PROJ-1", worktree=worktree, limits=limits, env=env)

    assert not outside.exists() and not (worktree.parent.parent / "escaped.txt").exists()
    assert [d["rule"] for d in result.denials] == [
        "path-outside-worktree",
        "path-outside-worktree",
        "bash-git-push-commit",
    ]
    assert result.denials[2]["input"] == "git add -A && git push origin HEAD"
    assert all("auto-code guard" in output for output in tool_outputs(model))


async def test_fix_of_a_session_the_cli_does_not_know_raises(
    model: ModelServer, env: dict[str, str], worktree: Path, limits: AgentLimits
) -> None:
    """A resume needs the transcript under HOME/.claude/projects/<encoded worktree path>/."""
    with pytest.raises(AgentError) as raised:
        await fix(
            "fix it",
            worktree=worktree,
            session_id="3932a103-78cc-49c9-8467-57df444eabf7",
            limits=limits,
            env=env,
        )

    assert raised.value.subtype == "cli_error"
    assert "No conversation found" in str(raised.value)
    assert model.requests == []
