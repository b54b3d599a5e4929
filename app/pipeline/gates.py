"""The gate stages: review, lint and test, and the fix that answers a failing one.

The workflow runs each gate and, while it fails and rounds and budget are left, sends its
feedback back into the implementation session (`fix`) and runs it again. The conventions are
those of `app.pipeline.stages`: runtime and run id in, a JSON-safe dict out, errors as data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app import checks
from app.agent import prompts, sessions
from app.environment import child_env
from app.pipeline.runs import Run
from app.pipeline.runtime import Runtime
from app.pipeline.stages import (
    guard_policy,
    guarded,
    limits,
    load_run,
    record_session,
    session_env,
)
from app.pipeline.tracking import tracked_stage


async def run_gate(
    rt: Runtime, run_id: str, worktree: Path, gate: str, config: dict[str, Any], attempt: int
) -> dict[str, Any]:
    """Run one gate. `feedback` is what a failing gate sends back to the agent."""

    async def body() -> dict[str, Any]:
        run = load_run(rt, run_id)
        name = gate if attempt == 0 else f"{gate}#{attempt}"
        async with tracked_stage(rt, run_id, name) as stage:
            if gate == "review":
                outcome = await _review(rt, run, worktree, config)
            else:
                result = await checks.run_gate(
                    gate,
                    config["commands"][gate],
                    cwd=worktree,
                    env=child_env(),
                    timeout_s=rt.settings.check_timeout_s,
                )
                outcome = {
                    "status": result.status,
                    "feedback": result.output_tail,
                    "detail": {
                        "command": list(result.command or ()),
                        "exit_code": result.exit_code,
                        "duration_s": round(result.duration_s, 3),
                        "output_tail": result.output_tail,
                    },
                }
            stage.detail["gate"] = outcome["status"]
            if outcome["status"] == "failed":
                stage.status = "failed"
        remaining = rt.settings.max_budget_usd - float(
            load_run(rt, run_id).record.get("cost_usd", 0.0)
        )
        outcome["can_fix"] = remaining > 0.01

        def record_gate(record: dict[str, Any]) -> None:
            record.setdefault("gates", {})[gate] = {
                "status": outcome["status"],
                "fix_rounds": attempt,
                **outcome.get("detail", {}),
            }

        rt.store.update(run_id, mutate=record_gate)
        return {
            "status": outcome["status"],
            "feedback": outcome.get("feedback", ""),
            "can_fix": outcome["can_fix"],
        }

    return await guarded(body())


async def _review(rt: Runtime, run: Run, worktree: Path, config: dict[str, Any]) -> dict[str, Any]:
    if not config["gates"]["review"]:
        return {"status": "skipped", "detail": {"reason": "disabled in .auto-code.toml"}}
    diff = await rt.workspace.diff(worktree)
    review = await sessions.review(
        diff,
        worktree=worktree,
        limits=limits(rt, run),
        env=session_env(rt, run.id),
        policy=guard_policy(rt),
    )
    record_session(rt, run.id, review.result, "review")
    findings = [dict(f) for f in review.findings]
    return {
        "status": "failed" if review.has_issues else "passed",
        "feedback": prompts.format_findings(findings),
        "detail": {"findings": findings},
    }


async def fix(
    rt: Runtime,
    run_id: str,
    worktree: Path,
    gate: str,
    feedback: str,
    session_id: str,
    attempt: int,
) -> dict[str, Any]:
    """Send a failing gate's findings back into the implementation session (resume)."""

    async def body() -> dict[str, Any]:
        run = load_run(rt, run_id)
        async with tracked_stage(rt, run_id, f"fix_{gate}#{attempt}") as stage:
            result = await sessions.fix(
                prompts.fix_prompt(gate, feedback),
                worktree=worktree,
                session_id=session_id,
                limits=limits(rt, run),
                env=session_env(rt, run_id),
                policy=guard_policy(rt),
            )
            record_session(rt, run_id, result, f"fix_{gate}")
            stage.detail.update(session_id=result.session_id, resumed=session_id)
            if result.session_id:
                rt.store.update(run_id, session_id=result.session_id)
        return {"session_id": result.session_id or session_id}

    return await guarded(body())
