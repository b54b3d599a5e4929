"""Catching up at start-up: a run that ended while its final Jira write could not be made (Jira
refused it past the retries, or hung until the service was killed) gets it at the next start,
through the real service, the real Claude CLI and a local server playing Jira.

Each test has a Jira of its own: requests it holds stay held until the test is over.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from tests.e2e.world import GOOD, Behaviour, World, post_ticket, world_fixture, writes
from tests.fakes import jira_server
from tests.fakes.jira_server import JiraServer
from tests.fakes.service import Service, wait_until
from tests.jira.adf_check import adf_links, adf_text

world = world_fixture("jira-resync")


@pytest.fixture
def jira() -> Iterator[JiraServer]:
    server = JiraServer().start()
    yield server
    server.stop()


def service(world: World, jira: JiraServer, name: str) -> Service:
    """A service writing back to `jira`; the same `name` is the same workspace and database."""
    return world.service(
        name,
        JIRA_BASE_URL=jira.url,
        **jira.cloud_env(),
        PUBLIC_URL="https://auto-code.example.com",
        JIRA_TRANSITION_ON_START="In Progress",
        JIRA_TRANSITION_ON_PR="Ready for review",
        IGNORE_ACCOUNT_IDS=jira_server.BOT_ACCOUNT_ID,
        JIRA_TIMEOUT_S="2",
        JIRA_RETRIES="1",
    )


def jira_of(service: Service, run_id: str) -> dict:
    return service.run(run_id).get("jira") or {}


def started_held_run(world: World, service: Service, key: str) -> tuple[str, threading.Event]:
    """A run of `key` whose comment shows the implement stage, held there until the event."""
    hold = threading.Event()
    world.model.add(key, Behaviour(writes(GOOD), hold=hold))
    run_id = post_ticket(service, key)["run_id"]
    wait_until(
        lambda: jira_of(service, run_id).get("synced") == "running:implement",
        timeout=120,
        what=f"the comment of {key} to show the implement stage",
    )
    return run_id, hold


def caught_up(service: Service, run_id: str) -> dict:
    """The run once write-back has made its final writes (nothing left `failed`)."""

    def done() -> dict | None:
        run = service.run(run_id)
        jira = run.get("jira") or {}
        return run if jira.get("synced") == run["status"] and "failed" not in jira else None

    return wait_until(done, timeout=120, interval=0.2, what=f"the write-back of {run_id}")


def resyncs(service: Service) -> list[list[str]]:
    """The runs each start of the service offered again (`jira_resync_started`), in order."""
    lines = [json.loads(line) for line in service.logs().splitlines() if line.startswith("{")]
    return [line["run_ids"] for line in lines if line.get("event") == "jira_resync_started"]


def assert_shows_the_pull_request(jira: JiraServer, key: str, run: dict) -> None:
    """One comment (created once) with the outcome; one remote link; each transition once."""
    requests = jira.requests_for(key)
    posts = [r for r in requests if r["method"] == "POST" and r["route"].endswith("/comment")]
    transitions = [r for r in requests if r["method"] == "POST" and "/transitions" in r["route"]]
    assert len(posts) == 1
    assert len(transitions) == 2, "start, then pull request: neither made twice"
    (comment,) = jira.comments(key)
    assert comment["id"] == run["jira"]["comment_id"]
    number = run["pr_url"].rsplit("/", 1)[1]
    assert f"Ready for review: pull request #{number}" in adf_text(comment["body"])
    assert (f"pull request #{number}", run["pr_url"]) in adf_links(comment["body"])
    (link,) = jira.remote_links(key)
    assert link["object"]["url"] == run["pr_url"]
    assert jira.status(key) == "In Review"
    assert {t["status"] for t in run["jira"]["transitions"].values()} == {"done"}


def test_a_final_write_jira_refused_is_made_at_the_next_start_and_only_that(
    world: World, jira: JiraServer
) -> None:
    first = service(world, jira, "jira-resync-refused").start()
    try:
        world.model.add("JWRSOK-1", Behaviour(writes(GOOD)))
        synced_id = post_ticket(first, "JWRSOK-1")["run_id"]
        refused_id, hold = started_held_run(world, first, "JWRSDOWN-1")
        jira.fault(r"/issue/JWRSDOWN-1/", status=503)
        hold.set()
        first.wait_for_run(refused_id)
        refused = wait_until(
            lambda: (j := jira_of(first, refused_id)).get("synced") == "succeeded" and j,
            timeout=120,
            what="the final write-back to give up",
        )
        caught_up(first, synced_id)
    finally:
        first.stop()
    assert {"comment", "remote_link", "transition_pr"} <= set(refused["failed"])
    assert "Ready for review" not in adf_text(jira.comments("JWRSDOWN-1")[0]["body"])

    jira.heal(r"/issue/JWRSDOWN-1/")
    untouched = len(jira.requests_for("JWRSOK-1"))
    second = service(world, jira, "jira-resync-refused").start()
    try:
        run = caught_up(second, refused_id)
    finally:
        second.stop()

    assert resyncs(second) == [[], [refused_id]]
    assert_shows_the_pull_request(jira, "JWRSDOWN-1", run)
    assert len(jira.requests_for("JWRSOK-1")) == untouched, "a synced run is not written again"


def test_a_final_write_pending_when_the_service_is_killed_is_made_at_the_next_start(
    world: World, jira: JiraServer
) -> None:
    killed = service(world, jira, "jira-resync-killed").start()
    try:
        run_id, hold = started_held_run(world, killed, "JWRSHANG-1")
        jira.fault(r"/issue/JWRSHANG-1/", hold=True)
        hold.set()
        assert killed.wait_for_run(run_id)["status"] == "succeeded"
        killed.kill()
        jira.heal(r"/issue/JWRSHANG-1/")
        killed.start()
        run = caught_up(killed, run_id)
    finally:
        killed.stop()

    assert resyncs(killed) == [[], [run_id]]
    assert_shows_the_pull_request(jira, "JWRSHANG-1", run)
