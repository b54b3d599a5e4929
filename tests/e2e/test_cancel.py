"""POST /runs/{id}/cancel through the real service, the real Claude CLI and a local Jira.

One ticket's run is held in its implementation session while a second waits for the only worker
slot; both are cancelled. The held CLI is killed, nothing is pushed, the queued run never starts,
the ticket takes a new run at once, and after a crash and restart both runs are still cancelled.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from tests.e2e.world import GOOD, Behaviour, World, post_ticket, pr_creates, world_fixture, writes
from tests.fakes.git_repos import rev
from tests.fakes.jira_server import JiraServer
from tests.fakes.processes import processes_tagged
from tests.fakes.service import Service, wait_until
from tests.jira.adf_check import adf_text

ADMIN_TOKEN = "admin-e2e-token-0123456789"
CANCELLED = {"type": "Cancelled", "message": "cancelled by the operator"}

world = world_fixture("cancel")


@pytest.fixture()
def jira() -> Iterator[JiraServer]:
    server = JiraServer().start()
    yield server
    server.stop()


@pytest.fixture()
def service(world: World, jira: JiraServer) -> Iterator[Service]:
    service = world.service(
        "cancel",
        ADMIN_TOKEN=ADMIN_TOKEN,
        MAX_CONCURRENT_TICKETS="1",
        JIRA_BASE_URL=jira.url,
        **jira.cloud_env(),
    ).start()
    yield service
    service.stop()


def cancel(service: Service, run_id: str) -> dict:
    response = service.client.post(
        f"/runs/{run_id}/cancel", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def agent_processes(run_id: str) -> list[int]:
    return processes_tagged("AUTO_CODE_RUN", run_id)


def test_cancelling_a_running_and_a_queued_run(
    world: World, jira: JiraServer, service: Service
) -> None:
    hold = threading.Event()
    world.model.add("STOP-1", Behaviour(writes(GOOD), hold=hold))
    world.model.add("STOP-2", Behaviour(writes(GOOD)))
    world.model.add("STOP-3", Behaviour(writes(GOOD)))
    world.model.add("STOP-4", Behaviour(writes(GOOD)))
    try:
        running = post_ticket(service, "STOP-1", delivery="stop-1")["run_id"]
        wait_until(lambda: world.model.requests_of("STOP-1"), timeout=60, what="the agent")
        wait_until(lambda: agent_processes(running), timeout=30, what="the tagged agent CLI")
        queued = post_ticket(service, "STOP-2")["run_id"]
        assert service.run(queued)["status"] == "queued", "the only worker slot is taken"

        stopped_early = cancel(service, queued)
        stopped = cancel(service, running)
        wait_until(lambda: not agent_processes(running), timeout=30, what="the CLI to be gone")
    finally:
        hold.set()

    assert stopped["status"] == stopped_early["status"] == "cancelled"
    assert stopped["error"] == stopped_early["error"] == CANCELLED
    assert stopped["finished_at"] and stopped_early["finished_at"]
    assert stopped["stage"] == "implement" and stopped_early["stages"] == []

    # The slot is free: a run of another ticket goes through, the cancelled queued run does not.
    other = service.wait_for_run(post_ticket(service, "STOP-3")["run_id"])
    assert other["status"] == "succeeded", other.get("error")
    assert world.model.requests_of("STOP-2") == []
    assert service.run(queued)["stages"] == []

    # Nothing was pushed for the cancelled run, and no pull request was asked for.
    assert rev(world.origin, "ticket/stop-1") is None
    assert pr_creates(world, "ticket/stop-1") == []
    assert service.run(running)["status"] == "cancelled", "the workflow's end changed nothing"

    # The ticket takes a new webhook at once, which continues the kept worktree to a PR.
    again = post_ticket(service, "STOP-1", delivery="stop-1-again")
    assert again["run_id"] != running and not again["duplicate"]
    rerun = service.wait_for_run(again["run_id"])
    assert rerun["status"] == "succeeded", rerun.get("error")
    assert len(pr_creates(world, "ticket/stop-1")) == 1

    listed = service.client.get("/runs", params={"status": "cancelled"}).json()["runs"]
    assert {run["run_id"] for run in listed} == {running, queued}
    metrics = service.client.get("/metrics").text
    assert 'auto_code_runs_total{outcome="cancelled"} 2.0' in metrics

    wait_until(
        lambda: (service.run(running).get("jira") or {}).get("synced") == "cancelled",
        timeout=60,
        what="the cancelled run's comment",
    )
    comment_id = service.run(running)["jira"]["comment_id"]
    (comment,) = [c for c in jira.comments("STOP-1") if c["id"] == comment_id]
    assert "operator stopped this run while implementing the ticket" in adf_text(comment["body"])

    # A crash and a restart: DBOS does not recover the cancelled workflows, nor does the
    # service re-offer their runs.
    service.kill()
    service.start()
    after = service.wait_for_run(post_ticket(service, "STOP-4")["run_id"])
    assert after["status"] == "succeeded", after.get("error")
    for run_id in (running, queued):
        run = service.run(run_id)
        assert run["status"] == "cancelled", json.dumps(run)[-2000:]
        assert run["error"] == CANCELLED
    assert world.model.requests_of("STOP-2") == []
    assert len(pr_creates(world, "ticket/stop-1")) == 1
