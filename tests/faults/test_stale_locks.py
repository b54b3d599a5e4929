"""Lock files that a SIGKILL left in the shared clone must not outlive the crash."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.e2e.world import GOOD, Behaviour, World, post_ticket, writes
from tests.fakes.git_repos import push_commit
from tests.fakes.service import wait_until
from tests.faults.conftest import leftover_locks, log_events


def test_locks_left_by_a_killed_git_are_cleared_at_start(world: World) -> None:
    """git takes `<ref>.lock` while a fetch updates refs, and `index.lock` while `git add`
    writes the index. A SIGKILL in that moment leaves the file behind, and git then refuses to
    work ("Unable to create ... .lock: File exists"): after such a crash every fetch failed, so
    every ticket failed, and the interrupted run could never commit, until someone deleted the
    files by hand. The service now clears them at start, before any run resumes."""
    hold = threading.Event()
    world.model.add("LOCK-1", Behaviour(writes(GOOD), hold=hold))
    world.model.add("LOCK-2", Behaviour(writes(GOOD)))
    service = world.service("stale-locks").start()
    workspace = Path(service.env["WORKSPACE_DIR"])
    git_dir = workspace / "repo" / ".git"
    try:
        first = post_ticket(service, "LOCK-1")["run_id"]
        wait_until(lambda: world.model.requests_of("LOCK-1"), timeout=120, what="LOCK-1's agent")
        service.kill()
        hold.set()
        world.model.behaviours["LOCK-1"].hold = None
        # What the killed git would have left (a fetch updating main; `git add` in LOCK-1):
        (git_dir / "refs" / "remotes" / "origin" / "main.lock").write_text("")
        (git_dir / "worktrees" / "lock-1" / "index.lock").write_text("")
        push_commit(world.origin, {"NEWS.md": "moved on\n"}, branch="main", message="news")

        service.start()
        resumed = service.wait_for_run(first)
        fresh = service.wait_for_run(post_ticket(service, "LOCK-2")["run_id"])
        locks = leftover_locks(workspace)
    finally:
        service.stop()

    assert resumed["status"] == "succeeded", resumed.get("error")
    assert fresh["status"] == "succeeded", fresh.get("error")
    assert locks == []
    [removed] = log_events(service, "workspace_stale_locks_removed")
    assert removed["paths"] == ["refs/remotes/origin/main.lock", "worktrees/lock-1/index.lock"]
