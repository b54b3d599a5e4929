"""Overhead: what the service adds to a whole run when the model answers at once.

A ticket goes through implement, review (passes), lint (fails, fixed by resuming the session),
test (fails, fixed the same way), commit, push and the PR, through `auto-code serve`, the real
CLI, real git and the gh shim, with the scripted model answering instantly. The run's duration
(created → finished, from its record) minus the time spent in the target's lint and test
commands is what the service and the agent's CLI cost; the run record splits it by stage.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime

from bench.record import fresh_output, machine, median, record
from tests.e2e.world import FIX_ALL, Behaviour, make_world, post_ticket, writes

REPEAT = int(os.environ.get("OVERHEAD_REPEAT", "3"))
DRAFT = "# LINTME\ndef greet():\n    return 'hello'\n"
"""Passes review, fails lint once and test once."""

GROUPS = {
    "workspace": "git: fetch + worktree",
    "setup": "setup (CLI started, config read)",
    "implement": "agent sessions (CLI)",
    "review": "agent sessions (CLI)",
    "fix": "agent sessions (CLI)",
    "lint": "gates (excluding their commands)",
    "test": "gates (excluding their commands)",
    "commit": "git: commit + push",
    "push": "git: commit + push",
    "pull_request": "gh: find or open the PR",
}


def kind(stage: str) -> str:
    """`lint#1` → `lint`, `fix_lint#1` → `fix`."""
    base = stage.split("#")[0]
    return "fix" if base.startswith("fix_") else base


def seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def analyse(run: dict) -> dict[str, float]:
    parts: dict[str, float] = defaultdict(float)
    total = seconds(run["created_at"], run["finished_at"])
    parts["total"] = total
    stages = run["stages"]
    parts["queue pickup"] = seconds(run["created_at"], stages[0]["started_at"])
    for stage in stages:
        group = GROUPS[kind(stage["name"])]
        commands = sum(c["duration_s"] for c in stage.get("commands", []))
        if group.startswith("gates"):
            parts["lint + test commands"] += commands
            parts[group] += stage["duration_s"] - commands
        else:
            parts[group] += stage["duration_s"]
    parts["between stages (DBOS steps, records, finish)"] = (
        total - sum(stage["duration_s"] for stage in stages) - parts["queue pickup"]
    )
    parts["overhead (total - lint/test commands)"] = total - parts["lint + test commands"]
    return parts


def main() -> None:
    started = machine()
    root = fresh_output("overhead")
    world = make_world(root)
    fixes = {gate: FIX_ALL[gate] for gate in ("lint", "test")}
    service = world.service("service").start()
    runs = []
    try:
        for n in range(1, REPEAT + 1):
            key = f"OVER-{n}"
            world.model.add(key, Behaviour(writes(DRAFT), fixes=fixes))
            runs.append(service.wait_for_run(post_ticket(service, key)["run_id"]))
    finally:
        service.stop()
        world.model.server.stop()
    for run in runs:
        if run["status"] != "succeeded" or set(run["gates"]) != {"review", "lint", "test"}:
            raise SystemExit(f"unexpected run: {run['status']} {run.get('error')}")
    analysed = [analyse(run) for run in runs]
    names = list(analysed[0])
    agent_stages = ("implement", "review", "fix")
    sessions = sum(1 for stage in runs[0]["stages"] if kind(stage["name"]) in agent_stages)
    rows = [[name, f"{median([a.get(name, 0.0) for a in analysed]):.2f} s"] for name in names]
    record(
        "Overhead: a whole run with an instant model",
        ["part of the run", f"median of {REPEAT}"],
        rows,
        machine=started,
        notes=(
            f"Each run: implement, review, one lint fix, one test fix ({sessions} Claude CLI "
            "sessions), commit, push, PR. QUEUE_POLL_S=0.1 (the e2e setting; the default 1 s "
            "adds up to 1 s of queue pickup). The agent sessions are the CLI starting, loading "
            "and talking to the instant model: the model itself adds nothing here."
        ),
    )
