"""A run survives SIGKILL of the service: after a restart it carries on and ends exactly once."""

from __future__ import annotations

import threading

from tests.e2e.world import GOOD, Behaviour, World, post_ticket, pr_creates, world_fixture, writes
from tests.fakes.git_repos import git, push_commit, rev
from tests.fakes.service import wait_until

world = world_fixture("recovery", scope="function")


def test_run_killed_during_the_agent_step_finishes_after_restart(world: World) -> None:
    """The service dies while the model is thinking; the restarted service redoes that step.

    Meanwhile origin's main moves on: the resumed run still compares its change against the base
    commit its workspace step pinned, which DBOS hands back from the step's recorded output."""
    hold = threading.Event()
    pinned = rev(world.origin, "main")
    world.model.add("CRASH-1", Behaviour(writes(GOOD), hold=hold))
    service = world.service("crash")
    service.start()
    try:
        run_id = post_ticket(service, "CRASH-1", delivery="crash-1")["run_id"]
        wait_until(
            lambda: world.model.requests_of("CRASH-1"), timeout=60, what="the agent's request"
        )
        service.kill()
        hold.set()
        push_commit(world.origin, {"CHANGELOG.md": "later\n"}, branch="main", message="later")
        service.start()
        run = service.wait_for_run(run_id)
        again = post_ticket(service, "CRASH-1", delivery="crash-1")
    finally:
        service.stop()

    assert run["status"] == "succeeded", run.get("error")
    assert again["run_id"] == run_id, "a Jira retry after the crash maps to the same run"
    names = [stage["name"] for stage in run["stages"]]
    assert names.count("implement") == 2
    assert names.count("workspace") == 1
    stages = {stage["name"]: stage for stage in run["stages"]}
    assert stages["workspace"]["detail"]["base_commit"] == pinned
    assert stages["commit"]["detail"]["base_commit"] == pinned
    assert run["base_commit"] == pinned != rev(world.origin, "main")
    assert run["stages"][names.index("implement")]["status"] == "interrupted"
    assert len(pr_creates(world, "ticket/crash-1")) == 1
    assert git("show", "ticket/crash-1:src/crash-1.py", cwd=world.origin) == GOOD


def test_run_accepted_just_before_a_kill_is_not_lost(world: World) -> None:
    """SIGKILL right after the 202: the persisted run starts once the service is back."""
    world.model.add("CRASH-2", Behaviour(writes(GOOD)))
    service = world.service("crash-after-ack")
    service.start()
    try:
        run_id = post_ticket(service, "CRASH-2")["run_id"]
        service.kill()
        service.start()
        run = service.wait_for_run(run_id)
        runs = service.client.get("/runs", params={"ticket": "CRASH-2"}).json()["runs"]
    finally:
        service.stop()

    assert run["status"] == "succeeded", run.get("error")
    assert [r["run_id"] for r in runs] == [run_id]
    assert len(pr_creates(world, "ticket/crash-2")) == 1
