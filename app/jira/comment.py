"""The one comment a run keeps on its ticket: what it is doing, then what came of it.

While the run works the comment names the current stage and the gates so far; at the end it
gives the outcome in plain words: the pull request with its gates, fix rounds, cost and turns;
or why the run failed and what the reader can do about it; or the agent's explanation of why
nothing changed. Every version carries the run id, which is how a comment whose creation was
interrupted is found again (see `app.jira.writeback`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.jira.document import Block, Bullets, Preformatted, Quote, Span, code, link, para, strong
from app.pipeline.runs import Run, RunStatus

MAX_QUOTED = 2000
"""Characters of the agent's words or an error message shown; the rest is on the run."""

GATE_NAMES = {"review": "code review", "lint": "lint", "test": "tests"}
INFO = "\u2139\ufe0f"
GATE_ICONS = {"passed": "✅", "failed": "❌", "skipped": "⏭"}
STAGES = {
    "workspace": "preparing the repository",
    "setup": "starting the agent and the repository's set-up",
    "implement": "implementing the ticket",
    "commit": "committing the change",
    "push": "pushing the branch",
    "pull_request": "opening the pull request",
}


@dataclass(frozen=True)
class CommentContext:
    status_url: str | None
    """The run's status page, when the service knows its public URL."""
    trigger_label: str | None
    secrets: Sequence[str] = ()
    """Values that must never appear in Jira (replaced by ***)."""


def build_comment(run: Run, stage: str | None, ctx: CommentContext) -> list[Block]:
    """The comment for `run`: in progress at `stage`, or its outcome once the run has ended."""
    if not run.status.terminal:
        return _progress(run, stage, ctx)
    status = run.status
    record = run.record
    if status == RunStatus.FAILED:
        blocks = _failed(run, ctx)
    elif status == RunStatus.CANCELLED:
        blocks = _cancelled(run, ctx)
    elif status == RunStatus.NO_CHANGES:
        blocks = _no_changes(run, ctx)
    elif record.get("dry_run"):
        blocks = _dry_run(run, ctx)
    else:
        blocks = _pull_request(run, ctx)
    return [*blocks, *_footer(run, ctx)]


def describe_stage(name: str) -> str:
    """`fix_lint#2` → "fixing what lint found (fix round 2)"; `test#1` → "running tests again"."""
    base, _, round_ = name.partition("#")
    if base.startswith("fix_"):
        gate = GATE_NAMES.get(base[4:], base[4:])
        return f"fixing what {gate} found (fix round {round_ or 1})"
    if base in GATE_NAMES:
        return f"running {GATE_NAMES[base]}" + (" again" if round_ else "")
    return STAGES.get(base, base)


def _progress(run: Run, stage: str | None, ctx: CommentContext) -> list[Block]:
    now = describe_stage(stage or run.stage or "workspace")
    blocks: list[Block] = [
        para("⏳ ", strong("auto-code is working on this ticket"), f": now {now}."),
    ]
    gates = _gates(run, final=False, stage=stage)
    if gates:
        blocks += [para(strong("Checks so far")), gates]
    return [*blocks, _run_line(run, ctx)]


def _pull_request(run: Run, ctx: CommentContext) -> list[Block]:
    record = run.record
    url = record.get("pr_url") or ""
    label = f"pull request #{record['pr_number']}" if record.get("pr_number") else url
    failing = _failing(run)
    if failing:
        blocks: list[Block] = [
            para(
                "⚠️ ",
                strong("Draft "),
                link(label, url),
                strong(" opened"),
                f": {_still_fail(failing)} after the fix rounds.",
            )
        ]
        advice = (
            f"look at the failing output in the pull request and fix it on the branch "
            f"{record.get('branch', '')}, or add detail to the ticket (how the change should be "
            f"checked) and {_rerun(ctx)}."
        )
    else:
        blocks = [para("✅ ", strong("Ready for review: "), link(label, url))]
        advice = (
            "review the pull request. Ask for changes there, or update this ticket and "
            f"{_rerun(ctx)}."
        )
    blocks += [para(strong("Checks")), _gates(run, final=True)]
    blocks += _summary(run, ctx)
    return [*blocks, para(strong("What you can do: "), advice)]


def _dry_run(run: Run, ctx: CommentContext) -> list[Block]:
    record = run.record
    failing = _failing(run)
    outcome = f"{_still_fail(failing)}." if failing else "every check passed."
    icon = "⚠️ " if failing else "✅ "
    blocks: list[Block] = [
        para(icon, strong("Dry run finished"), f": nothing was committed or pushed; {outcome}")
    ]
    if record.get("worktree"):
        where = code(record["worktree"])
        blocks.append(para("The change is in the worktree ", where, " on the service's host."))
    if record.get("cleanup_command"):
        blocks.append(para("Remove it when done: ", code(record["cleanup_command"])))
    blocks += [para(strong("Checks")), _gates(run, final=True)]
    return [*blocks, *_summary(run, ctx)]


def _no_changes(run: Run, ctx: CommentContext) -> list[Block]:
    explanation = run.record.get("explanation") or run.record.get("agent_summary") or ""
    blocks: list[Block] = [para(f"{INFO} ", strong("Finished without changing anything."))]
    if explanation.strip():
        blocks += [para("The agent said:"), Quote(_shown(explanation, ctx))]
    advice = (
        "if the ticket does need a change, add detail (what should change, where, and how to "
        f"tell that it works) and {_rerun(ctx)}."
    )
    return [*blocks, para(strong("What you can do: "), advice)]


def _cancelled(run: Run, ctx: CommentContext) -> list[Block]:
    where = f" while {describe_stage(run.stage)}" if run.stage else " before it started"
    return [
        para("⏹ ", strong("The service's operator stopped this run"), f"{where}."),
        para(strong("What you can do: "), f"if the ticket still needs doing, {_rerun(ctx)}."),
    ]


def _failed(run: Run, ctx: CommentContext) -> list[Block]:
    error: dict[str, Any] = run.record.get("error") or {}
    why, advice = _failure(error, run, ctx)
    blocks: list[Block] = [
        para("❌ ", strong("auto-code could not finish this ticket.")),
        para(strong("Why: "), why),
        para(strong("What you can do: "), advice),
    ]
    message = error.get("message") or ""
    if message:
        stage = next(
            (s["name"] for s in reversed(run.record.get("stages", [])) if s.get("error")), None
        )
        blocks.append(para("The error", f" (in {describe_stage(stage)})" if stage else "", ":"))
        blocks.append(Preformatted(_shown(message, ctx)))
    return blocks


def _failure(error: dict[str, Any], run: Run, ctx: CommentContext) -> tuple[str, str]:
    """Why the run failed, and what the reader can do, in plain words."""
    kind, subtype = error.get("type"), error.get("subtype")
    detail = (
        "add detail to the ticket (which files or screens, the expected behaviour, how to "
        "check it) or split it into smaller tickets"
    )
    operator = f"if it fails again, give the service's operator the run id {run.id}"
    if kind == "AgentError" and subtype == "error_max_turns":
        return (
            "the agent used all of its turns before it finished; the ticket may be too large "
            "or too vague.",
            f"{detail}, then {_rerun(ctx)}.",
        )
    if kind == "AgentError" and subtype == "error_max_budget_usd":
        return (
            "the agent reached the ticket's cost limit before it finished.",
            f"{detail}, then {_rerun(ctx)}; or ask the operator to raise MAX_BUDGET_USD.",
        )
    if kind == "AgentError" and subtype == "timeout":
        return (
            "the agent did not finish in the time it is given.",
            f"{detail}, then {_rerun(ctx)}; or ask the operator to raise AGENT_TIMEOUT_S.",
        )
    if kind == "AgentError":
        return "the agent stopped with an error.", f"{_rerun(ctx)}; {operator}."
    if kind == "RepoConfigError":
        return (
            "the repository's set-up command or its .auto-code.toml cannot be used.",
            f"someone with access to the repository fixes it (see the error below), then "
            f"{_rerun(ctx)}.",
        )
    if kind == "PullRequestError":
        branch = run.record.get("branch", "the ticket's branch")
        return (
            f"the change was pushed to the branch {branch}, but the pull request could not "
            "be opened.",
            "open the pull request from that branch yourself, or ask the operator to check "
            "the service's GitHub access.",
        )
    if kind == "TamperingError":
        return (
            "while working on this ticket, a program the agent ran changed the service's git "
            "configuration, so nothing was pushed.",
            "before anyone asks for a re-run, a person should read the ticket for instructions "
            f"aimed at the agent and give the service's operator the run id {run.id}.",
        )
    if kind == "WorkspaceError":
        return (
            "the service could not prepare or push the git repository; this is not a problem "
            "with the ticket.",
            f"ask the operator to check the service's repository access, then {_rerun(ctx)}.",
        )
    return "the service hit an unexpected error.", f"{_rerun(ctx)}; {operator}."


def _gates(run: Run, *, final: bool, stage: str | None = None) -> Bullets:
    items = []
    for name, gate in run.record.get("gates", {}).items():
        status = gate.get("status", "")
        rounds = int(gate.get("fix_rounds", 0))
        words = status
        if status == "failed" and not final and (stage or "").startswith(f"fix_{name}"):
            words = "failed, fixing it"
        elif rounds:
            outcome = "still fails" if status == "failed" else status
            words = f"{outcome} after {rounds} fix round{'s' if rounds != 1 else ''}"
        icon = GATE_ICONS.get(status, "")
        items.append((strong(GATE_NAMES.get(name, name)), Span(f": {icon} {words}".rstrip())))
    return Bullets(tuple(items))


def _failing(run: Run) -> list[str]:
    return list(run.record.get("failing_gates") or [])


def _still_fail(gates: list[str]) -> str:
    names = ", ".join(GATE_NAMES.get(g, g) for g in gates)
    return f"{names} still {'fails' if len(gates) == 1 else 'fail'}"


def _summary(run: Run, ctx: CommentContext) -> list[Block]:
    summary = (run.record.get("agent_summary") or "").strip()
    return [para(strong("What was done")), Quote(_shown(summary, ctx))] if summary else []


def _footer(run: Run, ctx: CommentContext) -> list[Block]:
    record = run.record
    facts = [
        f"Cost ${float(record.get('cost_usd', 0.0)):.2f}",
        f"{int(record.get('turns', 0))} agent turns",
    ]
    took = _duration(run)
    if took:
        facts.append(took)
    return [para(" · ".join(facts)), _run_line(run, ctx)]


def _run_line(run: Run, ctx: CommentContext) -> Block:
    target = link(run.id, ctx.status_url) if ctx.status_url else code(run.id)
    return para("auto-code run ", target)


def _rerun(ctx: CommentContext) -> str:
    if ctx.trigger_label:
        return f"run it again by removing the label {ctx.trigger_label} and adding it back"
    return "run it again by editing the ticket (a change to it starts a new run)"


def _duration(run: Run) -> str:
    stages = run.record.get("stages") or []
    try:
        start = datetime.fromisoformat(stages[0]["started_at"])
        end = datetime.fromisoformat(run.record["finished_at"])
    except (IndexError, KeyError, TypeError, ValueError):
        return ""
    seconds = max(int((end - start).total_seconds()), 0)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _shown(text: str, ctx: CommentContext) -> str:
    """Untrusted text for the comment: secrets masked, clipped to `MAX_QUOTED` characters."""
    for secret in ctx.secrets:
        if secret:
            text = text.replace(secret, "***")
    text = text.strip()
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 1] + "…"
