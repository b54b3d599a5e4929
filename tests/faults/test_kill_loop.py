"""SIGKILL the whole service at chosen and at random points of its runs, restart it, repeat.

Whatever the kill interrupted, every ticket must end in a terminal state exactly once, with one
pull request requested, and the shared clone must be left unlocked for the next run.

The random choices come from a seed printed on failure; set FAULT_SEED to replay one.

Regression: git takes `<ref>.lock` while a fetch updates refs and `index.lock` while `git add`
writes the index; a SIGKILL in that moment leaves the file behind and git then refuses to work
("Unable to create ... .lock: File exists"). After such a crash every fetch failed, so every
ticket failed, and the interrupted run could never commit, until someone deleted the files by
hand. The window is milliseconds wide, so the test leaves those files itself after one kill; the
service now clears them at start, before any run resumes.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

from tests.e2e.world import GOOD, Behaviour, World, post_ticket, pr_creates, writes
from tests.fakes.git_repos import git, push_commit
from tests.fakes.processes import processes_mentioning
from tests.fakes.service import Service, wait_until
from tests.faults.conftest import (
    GhHold,
    gh_called,
    install_push_hold,
    leftover_locks,
    log_events,
)

RANDOM_POINTS = ("accepted", "workspace", "setup", "implement", "lint", "test", "commit", "push")
"""Where a random kill may land: right after the 202, or once a run has started that stage.
Not inside `gh pr create`: whether GitHub opened a PR whose answer was lost is a real ambiguity
(`find_or_create_pr` settles it by listing first), and the shim counts the call either way."""


def reached(service: Service, run_id: str, point: str) -> bool:
    run = service.run(run_id)
    started = [stage["name"] for stage in run["stages"]]
    return point == "accepted" or point in started or run["status"] not in ("queued", "running")


def test_random_kills_never_lose_double_or_lock_a_run(world: World) -> None:
    seed = int(os.environ.get("FAULT_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(seed)
    context = f"FAULT_SEED={seed}"
    push_hold = install_push_hold(world.origin)
    gh_hold = GhHold(world.root / "gh-hold")
    keys = ["KILL-1", "KILL-2", "KILL-3", "KILL-4"]
    for key in keys:
        world.model.add(key, Behaviour(writes(GOOD)))
    agent_hold = threading.Event()
    world.model.behaviours["KILL-3"].hold = agent_hold
    service = world.service(
        "kill-loop", MAX_CONCURRENT_TICKETS="4", GH_SHIM_HOLD=str(gh_hold.flag)
    ).start()
    workspace = Path(service.env["WORKSPACE_DIR"])
    runs: dict[str, str] = {}
    kills: list[str] = []
    try:
        # One SIGKILL catches a run at each named point: after push before the PR, after
        # commit before the push has landed, and while the model is thinking. A stalled push
        # holds the clone's lock, so KILL-2 starts once KILL-1 has pushed.
        gh_hold.arm("pr list --head=ticket/kill-1")
        for key in ("KILL-1", "KILL-3"):
            runs[key] = post_ticket(service, key, delivery=f"{key}-a")["run_id"]
        wait_until(
            lambda: (
                gh_called(world, "pr", "list", "--head=ticket/kill-1")
                and world.model.requests_of("KILL-3")
            ),
            timeout=120,
            what=f"KILL-1 to ask for its PR and KILL-3 to ask the model ({context})",
        )
        push_hold.arm("refs/heads/ticket/kill-2")
        runs["KILL-2"] = post_ticket(service, "KILL-2", delivery="KILL-2-a")["run_id"]
        wait_until(push_hold.reached, timeout=120, what=f"KILL-2's push ({context})")
        service.kill()
        kills.append("KILL-1 before PR, KILL-2 before push, KILL-3 in the agent step")
        gh_hold.release()
        push_hold.release()
        world.model.behaviours["KILL-3"].hold = None
        agent_hold.set()
        # As if the kill had caught a fetch updating main, and `git add` in KILL-3's worktree:
        git_dir = workspace / "repo" / ".git"
        planted = ["refs/remotes/origin/main.lock", "worktrees/kill-3/index.lock"]
        for lock in planted:
            (git_dir / lock).write_text("")
        push_commit(world.origin, {"NEWS.md": "moved on\n"}, branch="main", message="news")

        # Then twice more wherever a randomly chosen run has got to, once with a fresh ticket.
        # Meanwhile gh waits, so that no kill lands inside `gh pr create` (see RANDOM_POINTS).
        for round_ in range(2):
            gh_hold.arm("pr ")
            service.start()
            if round_ == 0:
                runs["KILL-4"] = post_ticket(service, "KILL-4", delivery="KILL-4-a")["run_id"]
            key, point = rng.choice(sorted(runs)), rng.choice(RANDOM_POINTS)
            wait_until(
                lambda key=key, point=point: reached(service, runs[key], point),
                timeout=120,
                what=f"{key} to reach {point} ({context})",
            )
            service.kill()
            gh_hold.release()
            kills.append(f"{key} at {point}")

        service.start()
        finals = {key: service.wait_for_run(run_id, timeout=240) for key, run_id in runs.items()}
        # Jira retries the deliveries it never saw answered: they map to the runs already made.
        retried = {key: post_ticket(service, key, delivery=f"{key}-a")["run_id"] for key in keys}
        listed = {
            key: service.client.get("/runs", params={"ticket": key}).json()["runs"] for key in keys
        }
        world.model.add("KILL-5", Behaviour(writes(GOOD)))
        after = service.wait_for_run(post_ticket(service, "KILL-5")["run_id"])
        locks = leftover_locks(workspace)
        worktrees = git("worktree", "list", "--porcelain", cwd=workspace / "repo")
    finally:
        service.stop()
    context += f"; kills: {kills}"

    assert retried == runs, context
    finished = [entry["run_id"] for entry in log_events(service, "run_finished")]
    for key, run in finals.items():
        assert run["status"] == "succeeded", (context, key, run.get("error"), run["stages"])
        assert [r["run_id"] for r in listed[key]] == [runs[key]], context
        assert finished.count(runs[key]) == 1, (context, key, "run_finished logged", finished)
        branch = f"ticket/{key.lower()}"
        assert len(pr_creates(world, branch)) == 1, (context, branch)
        assert git("show", f"{branch}:src/{key.lower()}.py", cwd=world.origin) == GOOD
    assert sorted(pr["head"] for pr in world.gh.prs()) == [f"ticket/kill-{n}" for n in range(1, 6)]
    assert after["status"] == "succeeded", (context, after.get("error"))
    assert locks == [], context
    cleared = log_events(service, "workspace_stale_locks_removed")
    assert set(planted) <= set(cleared[0]["paths"]), (context, cleared)
    assert worktrees.count("worktree ") == 1, (context, worktrees)
    assert processes_mentioning(str(workspace)) == [], context
