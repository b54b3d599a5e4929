"""The ticket workflow: one DBOS workflow per run, one DBOS step per stage.

    workspace ─▶ setup (warm agent) ─▶ implement ─▶ review ─▶ lint ─▶ test ─▶ commit ─▶ push ─▶ PR
                                           ▲           │        │       │
                                           └─ fix: resume the implementation session ┘

DBOS records each finished step; after a crash the workflow is replayed and resumes at the step
it was in. Steps therefore never raise: they return a dict with an `error` key instead, so the
replay sees the same value, and each step is safe to run twice (a crash mid-step repeats it).
The base commit the change is checked against is pinned by the workspace step, before the agent
runs, and reaches the commit step from that step's recorded output, never from a git ref.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dbos import DBOS

from app.pipeline import gates, stages, tracking
from app.pipeline.runs import RunStatus
from app.pipeline.runtime import current

log = logging.getLogger("auto_code.pipeline")

GATES = ("review", "lint", "test")


@DBOS.step(name="workspace")
async def workspace_step(run_id: str) -> dict[str, Any]:
    return await stages.prepare_workspace(current(), run_id)


@DBOS.step(name="setup")
async def setup_step(run_id: str, worktree: str) -> dict[str, Any]:
    return await stages.setup(current(), run_id, Path(worktree))


@DBOS.step(name="implement")
async def implement_step(run_id: str, worktree: str, prompt: str) -> dict[str, Any]:
    return await stages.implement(current(), run_id, Path(worktree), prompt)


@DBOS.step(name="gate")
async def gate_step(
    run_id: str, worktree: str, gate: str, config: dict[str, Any], attempt: int
) -> dict[str, Any]:
    return await gates.run_gate(current(), run_id, Path(worktree), gate, config, attempt)


@DBOS.step(name="fix")
async def fix_step(
    run_id: str, worktree: str, gate: str, feedback: str, session_id: str, attempt: int
) -> dict[str, Any]:
    return await gates.fix(current(), run_id, Path(worktree), gate, feedback, session_id, attempt)


@DBOS.step(name="commit")
async def commit_step(run_id: str, worktree: str, base_commit: str) -> dict[str, Any]:
    return await stages.commit(current(), run_id, Path(worktree), base_commit)


@DBOS.step(name="push")
async def push_step(run_id: str, branch: str, commit: str) -> dict[str, Any]:
    return await stages.push(current(), run_id, branch, commit)


@DBOS.step(name="pull_request")
async def pull_request_step(run_id: str, base: str, draft: bool) -> dict[str, Any]:
    return await stages.pull_request(current(), run_id, base, draft)


@DBOS.step(name="finish")
async def finish_step(run_id: str, status: str, fields: dict[str, Any]) -> None:
    await stages.finish(current(), run_id, RunStatus(status), fields)


@DBOS.workflow(name="run_ticket")
async def run_ticket(run_id: str) -> str:
    """Take one run from its worktree to a pull request (or a dry-run worktree)."""
    with tracking.run_logs(current(), run_id):
        status, fields = await _pipeline(run_id)
        await finish_step(run_id, status.value, fields)
    return status.value


async def _pipeline(run_id: str) -> tuple[RunStatus, dict[str, Any]]:
    ws = await workspace_step(run_id)
    if "error" in ws:
        return RunStatus.FAILED, {"error": ws["error"]}
    worktree = ws["worktree"]
    try:
        setup = await setup_step(run_id, worktree)
        if "error" in setup:
            return RunStatus.FAILED, {"error": setup["error"]}
        impl = await implement_step(run_id, worktree, setup["prompt"])
    finally:
        await stages.discard_warm(current(), run_id)
    if "error" in impl:
        return RunStatus.FAILED, {"error": impl["error"]}
    if not impl["has_changes"]:
        return RunStatus.NO_CHANGES, {"explanation": impl["summary"]}

    session_id = impl["session_id"]
    config = setup["config"]
    failing: list[str] = []
    for gate in GATES:
        attempt = 0
        while True:
            result = await gate_step(run_id, worktree, gate, config, attempt)
            if "error" in result:
                return RunStatus.FAILED, {"error": result["error"]}
            if result["status"] != "failed":
                break
            if attempt >= config["max_fix_rounds"] or not result.get("can_fix", True):
                failing.append(gate)
                break
            attempt += 1
            fixed = await fix_step(run_id, worktree, gate, result["feedback"], session_id, attempt)
            if "error" in fixed:
                return RunStatus.FAILED, {"error": fixed["error"]}
            session_id = fixed["session_id"]

    if current().settings.is_dry_run:
        return (
            RunStatus.GATES_FAILING if failing else RunStatus.SUCCEEDED,
            {"failing_gates": failing, **stages.dry_run_note(current(), Path(worktree))},
        )
    committed = await commit_step(run_id, worktree, ws["base_commit"])
    if "error" in committed:
        return RunStatus.FAILED, {"error": committed["error"]}
    if committed["sha"] is None:
        return RunStatus.NO_CHANGES, {"explanation": "the fix rounds undid every change"}
    pushed = await push_step(run_id, ws["branch"], committed["sha"])
    if "error" in pushed:
        return RunStatus.FAILED, {"error": pushed["error"]}
    pr = await pull_request_step(run_id, ws["base"], bool(failing))
    if "error" in pr:
        return RunStatus.FAILED, {"error": pr["error"]}
    return (RunStatus.GATES_FAILING if failing else RunStatus.SUCCEEDED), {"failing_gates": failing}
