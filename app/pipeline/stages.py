"""What each stage of a run does. The workflow module decides the order; this module does the work.

Every stage function takes the runtime and the run id, records itself on the run (see
`tracking.tracked_stage`) and returns a JSON-safe dict; errors come back as `{"error": {...}}`.
The gates and the fix that answers a failing one are in `app.pipeline.gates`, on the same helpers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from app import checks, github
from app.agent import leaks, prompts, sessions
from app.agent.calls import Policy
from app.agent.warm_client import RUN_TAG_ENV
from app.environment import child_env
from app.errors import RepoConfigError
from app.pipeline import report
from app.pipeline.observers import notify_finished
from app.pipeline.runs import Run, RunStatus, utcnow
from app.pipeline.runtime import Runtime
from app.pipeline.tracking import describe_error, tracked_stage

log = logging.getLogger("auto_code.pipeline")


def load_run(rt: Runtime, run_id: str) -> Run:
    run = rt.store.get(run_id)
    if run is None:
        raise KeyError(run_id)
    return run


async def guarded(coro: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """Await a stage body; return its result, or its error as data (steps never raise)."""
    try:
        return await coro
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("stage_error")
        return {"error": describe_error(exc)}


def limits(rt: Runtime, run: Run) -> sessions.AgentLimits:
    """The agent's limits for the next session: what is left of the ticket's budget."""
    spent = float(run.record.get("cost_usd", 0.0))
    s = rt.settings
    return sessions.AgentLimits(
        model=s.claude_model,
        max_turns=s.max_turns,
        max_budget_usd=max(s.max_budget_usd - spent, 0.01),
        timeout_s=s.agent_timeout_s,
    )


def session_env(rt: Runtime, run_id: str) -> dict[str, str]:
    """The environment a Claude session of the run is given: its credential, and the run's tag,
    which every process of the session inherits, so cancelling the run finds them."""
    s = rt.settings
    env = {RUN_TAG_ENV: run_id}
    if s.claude_code_oauth_token is not None:
        env["CLAUDE_CODE_OAUTH_TOKEN"] = s.claude_code_oauth_token.get_secret_value()
    elif s.anthropic_api_key is not None:
        env["ANTHROPIC_API_KEY"] = s.anthropic_api_key.get_secret_value()
    return env


def guard_policy(rt: Runtime) -> Policy:
    return Policy.from_settings(rt.settings)


async def prepare_workspace(rt: Runtime, run_id: str) -> dict[str, Any]:
    async def body() -> dict[str, Any]:
        run = load_run(rt, run_id)
        async with tracked_stage(rt, run_id, "workspace") as stage:
            await rt.workspace.sync()
            base = await choose_base(rt)
            # Pinned before the agent runs; later steps get it from this step's recorded output.
            base_commit = await rt.workspace.base_commit(base)
            branch = run.job.branch
            worktree = await rt.workspace.create_worktree(branch=branch, base_commit=base_commit)
            stage.detail.update(branch=branch, base=base, base_commit=base_commit)
        rt.store.update(
            run_id,
            worktree=str(worktree),
            branch=branch,
            base=base,
            base_commit=base_commit,
            dry_run=rt.settings.is_dry_run,
        )
        return {
            "worktree": str(worktree),
            "branch": branch,
            "base": base,
            "base_commit": base_commit,
        }

    return await guarded(body())


async def choose_base(rt: Runtime) -> str:
    """BASE_BRANCH, else `base_branch` from `.auto-code.toml` on the default branch, else that."""
    if rt.settings.base_branch:
        return await rt.workspace.base_branch(rt.settings.base_branch)
    default = await rt.workspace.base_branch(None)
    text = await rt.workspace.read_file(ref=f"origin/{default}", path=checks.CONFIG_FILE)
    if text is None:
        text = await rt.workspace.read_file(ref=default, path=checks.CONFIG_FILE)
    if text:
        config = checks.parse_repo_config(text, default_max_fix_rounds=rt.settings.max_fix_rounds)
        if config.base_branch:
            return await rt.workspace.base_branch(config.base_branch)
    return default


def config_record(config: checks.RepoConfig) -> dict[str, Any]:
    """The repository's settings as the workflow passes them between steps (JSON-safe)."""
    return {
        "commands": {name: list(config.command(name) or ()) for name in checks.COMMANDS},
        "gates": {name: config.gate_enabled(name) for name in checks.GATES},
        "max_fix_rounds": config.max_fix_rounds,
    }


async def setup(rt: Runtime, run_id: str, worktree: Path) -> dict[str, Any]:
    """Start the agent's CLI while the repository is being prepared, so its start-up is hidden."""

    async def body() -> dict[str, Any]:
        run = load_run(rt, run_id)
        async with tracked_stage(rt, run_id, "setup") as stage:
            if run_id not in rt.warm:
                rt.warm[run_id] = await sessions.start_warm(
                    worktree, limits(rt, run), env=session_env(rt, run_id), policy=guard_policy(rt)
                )
            config = checks.load_repo_config(
                worktree, default_max_fix_rounds=rt.settings.max_fix_rounds
            )
            stage.detail["config"] = config_record(config)
            result = await checks.run_setup(
                config, cwd=worktree, env=child_env(), timeout_s=rt.settings.check_timeout_s
            )
            stage.detail["setup"] = result.status
            if result.status == "failed":
                raise RepoConfigError(f"the setup command failed:\n{result.output_tail}")
            prompt = prompts.implementation_prompt(run.job)
        return {"prompt": prompt, "config": config_record(config)}

    return await guarded(body())


async def discard_warm(rt: Runtime, run_id: str) -> None:
    """Close a pre-started client the run did not use (its setup failed, or it was cancelled)."""
    warm = rt.warm.pop(run_id, None)
    if warm is not None:
        await warm.close()


def record_session(rt: Runtime, run_id: str, result: sessions.AgentResult, role: str) -> None:
    """Add a session's cost and turns to the run's totals."""

    def add(record: dict[str, Any]) -> None:
        record["cost_usd"] = round(record.get("cost_usd", 0.0) + result.cost_usd, 6)
        record["turns"] = record.get("turns", 0) + result.turns
        record.setdefault("sessions", []).append(
            {
                "role": role,
                "session_id": result.session_id,
                "cost_usd": result.cost_usd,
                "turns": result.turns,
                "subtype": result.subtype,
            }
        )
        record.setdefault("denials", []).extend(result.denials)

    rt.store.update(run_id, mutate=add)


async def implement(rt: Runtime, run_id: str, worktree: Path, prompt: str) -> dict[str, Any]:
    async def body() -> dict[str, Any]:
        run = load_run(rt, run_id)
        async with tracked_stage(rt, run_id, "implement") as stage:
            warm = rt.warm.pop(run_id, None)
            stage.detail["warm"] = warm is not None
            result = await sessions.implement(
                prompt,
                worktree=worktree,
                limits=limits(rt, run),
                env=session_env(rt, run_id),
                warm=warm,
                policy=guard_policy(rt),
            )
            record_session(rt, run_id, result, "implement")
            rt.store.update(run_id, session_id=result.session_id, agent_summary=result.text)
            if result.is_error:
                raise sessions.incomplete(result, rt.settings)
            changed = await rt.workspace.has_changes(worktree)
            stage.detail.update(session_id=result.session_id, has_changes=changed)
        return {"session_id": result.session_id, "summary": result.text, "has_changes": changed}

    return await guarded(body())


async def commit(rt: Runtime, run_id: str, worktree: Path, base_commit: str) -> dict[str, Any]:
    """Check the change against the base commit the workspace step pinned, then commit it."""

    async def body() -> dict[str, Any]:
        run = load_run(rt, run_id)
        async with tracked_stage(rt, run_id, "commit") as stage:
            stage.detail["base_commit"] = base_commit
            await leaks.check_change(
                worktree,
                await rt.workspace.changed_files(worktree, base_commit=base_commit),
                secrets=rt.settings.secret_values(),
                allow_workflow_edits=rt.settings.allow_workflow_edits,
            )
            sha = await rt.workspace.commit(
                worktree, message=report.commit_message(run.job), base_commit=base_commit
            )
            stage.detail["sha"] = sha
        rt.store.update(run_id, commit=sha)
        return {"sha": sha}

    return await guarded(body())


async def push(rt: Runtime, run_id: str, branch: str, commit: str) -> dict[str, Any]:
    async def body() -> dict[str, Any]:
        async with tracked_stage(rt, run_id, "push"):
            await rt.workspace.push(branch, commit=commit)
        return {"pushed": branch}

    return await guarded(body())


async def pull_request(rt: Runtime, run_id: str, base: str, draft: bool) -> dict[str, Any]:
    async def body() -> dict[str, Any]:
        run = load_run(rt, run_id)
        s = rt.settings
        async with tracked_stage(rt, run_id, "pull_request") as stage:
            pr = await github.find_or_create_pr(
                cwd=rt.workspace.repo,
                repo_url=s.repo_url,
                branch=run.record["branch"],
                base=base,
                title=report.pr_title(run.job),
                body=report.pr_body(run, jira_base_url=s.jira_base_url, draft=draft),
                draft=draft,
                env=github.gh_env(s.gh_token.get_secret_value() if s.gh_token else None),
                timeout_s=s.git_timeout_s,
            )
            stage.detail.update(pr_url=pr.url, created=pr.created)
        rt.store.update(run_id, pr_url=pr.url, pr_number=pr.number, draft=draft)
        return {"url": pr.url}

    return await guarded(body())


def dry_run_note(rt: Runtime, worktree: Path) -> dict[str, Any]:
    return {"worktree": str(worktree), "cleanup_command": rt.workspace.remove_command(worktree)}


async def finish(rt: Runtime, run_id: str, status: RunStatus, fields: dict[str, Any]) -> None:
    """End the run once: set its terminal status; drop the worktree when the work is pushed.

    Replayed after a crash inside this step, the status is already set: observers are told
    again (their writes are idempotent) so the final Jira comment and trace are not lost.
    """
    run = load_run(rt, run_id)
    if run.status == RunStatus.CANCELLED:
        return  # the cancel has ended it and told the observers (`app.pipeline.cancel`)
    if run.status.terminal:
        await notify_finished(rt.observers, run)
        return
    worktree = run.record.get("worktree")
    keep = rt.settings.is_dry_run or status == RunStatus.FAILED
    if worktree and not keep:
        try:
            await rt.workspace.remove_worktree(Path(worktree))
            fields = {**fields, "worktree_removed": True}
        except Exception as exc:
            log.warning("worktree_remove_failed", extra={"run_id": run_id, "error": str(exc)})
    elif worktree:
        fields = {**fields, **dry_run_note(rt, Path(worktree))}
    run = rt.store.update(
        run_id, status=status, stage="done", finished_at=utcnow().isoformat(), **fields
    )
    if run.status == RunStatus.CANCELLED:
        return  # cancelled while this step ran: the status stays, the cancel told the observers
    log.info("run_finished", extra={"run_id": run_id, "ticket": run.ticket, "status": status.value})
    await notify_finished(rt.observers, run)
