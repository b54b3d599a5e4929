"""Jira write-back through the real service, the real Claude CLI and a local server playing Jira.

The Cloud service (REST v3, ADF) comments, links and transitions; tickets whose Jira calls the
fake answers with 401, 403, 404, 429, a dropped connection or silence still end as usual. A Data
Center service (REST v2, wiki markup) runs a dry run with a transition Jira does not offer. A
third service is killed mid-run: the restarted run edits the comment it had made.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.world import (
    FIRST_DRAFT,
    FIX_ALL,
    GOOD,
    WEBHOOK_TOKEN,
    Behaviour,
    World,
    post_ticket,
    world_fixture,
    writes,
)
from tests.fakes import jira_server
from tests.fakes.jira_server import JiraServer
from tests.fakes.model_server import Reply, bash
from tests.fakes.service import Service, wait_until
from tests.jira.adf_check import adf_links, adf_text, assert_valid_adf

PUBLIC = "https://auto-code.example.com"
PR_PREFIX = "https://github.com/acme/widgets/pull/"


world = world_fixture("jira")


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraServer]:
    server = JiraServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cloud(world: World, jira: JiraServer) -> Iterator[Service]:
    service = world.service(
        "jira-cloud",
        JIRA_BASE_URL=jira.url,
        **jira.cloud_env(),
        PUBLIC_URL=PUBLIC,
        JIRA_TRANSITION_ON_START="In Progress",
        JIRA_TRANSITION_ON_PR="Ready for review",
        IGNORE_ACCOUNT_IDS=jira_server.BOT_ACCOUNT_ID,
        JIRA_TIMEOUT_S="2",
        JIRA_RETRIES="2",
        MAX_CONCURRENT_TICKETS="3",
    ).start()
    yield service
    service.stop()


def settled(service: Service, run_id: str, shows: str) -> dict:
    """The run once it has ended and its write-back has caught up with `shows`."""

    def done() -> dict | None:
        run = service.run(run_id)
        return run if (run.get("jira") or {}).get("synced") == shows else None

    service.wait_for_run(run_id)
    return wait_until(done, timeout=120, interval=0.2, what=f"the comment of {run_id} to settle")


def comment_posts(jira: JiraServer, key: str) -> list[dict]:
    return [
        r
        for r in jira.requests_for(key)
        if r["method"] == "POST" and r["route"] == f"/issue/{key}/comment"
    ]


PRINT_ENV = "python3 -c 'import os; print(sorted(os.environ.items()))'"
"""The agent prints its environment (`env` itself is refused by the tool guard)."""


def prints_env_forever(_worktree: Path, _step: int) -> Reply:
    return bash(PRINT_ENV)


def assert_env_seen_without(world: World, key: str, secrets: list[str]) -> None:
    """The agent's environment went back to the model (a tool result) without Jira's secrets."""
    sent = json.dumps([r.messages for r in world.model.requests_of(key)])
    assert "('PATH', " in sent, "the agent's environment never reached the model"
    for name_or_value in secrets:
        assert name_or_value not in sent


def test_the_ticket_shows_progress_then_the_pull_request(
    world: World, jira: JiraServer, cloud: Service
) -> None:
    world.model.add("JW-1", Behaviour(writes(FIRST_DRAFT), fixes=FIX_ALL))
    run = settled(cloud, post_ticket(cloud, "JW-1")["run_id"], "succeeded")

    assert run["status"] == "succeeded", run.get("error")
    (comment,) = jira.comments("JW-1")
    assert len(comment_posts(jira, "JW-1")) == 1
    for version in comment["versions"]:
        assert_valid_adf(version)
    texts = [adf_text(v) for v in comment["versions"]]
    assert "now preparing the repository" in texts[0]
    assert any("now implementing the ticket" in t for t in texts)
    assert any("fixing what code review found (fix round 1)" in t for t in texts)
    final = texts[-1]
    assert f"Ready for review: pull request #{run['pr_url'].rsplit('/', 1)[1]}" in final
    for gate in ("code review", "lint", "tests"):
        assert f"{gate}: ✅ passed after 1 fix round\n" in final
    assert f"Cost ${run['cost_usd']:.2f} · {run['turns']} agent turns" in final
    assert (run["run_id"], f"{PUBLIC}/runs/{run['run_id']}") in adf_links(comment["body"])
    assert (f"pull request #{run['pr_url'].rsplit('/', 1)[1]}", run["pr_url"]) in adf_links(
        comment["body"]
    )

    (link,) = jira.remote_links("JW-1")
    assert link["object"]["url"] == run["pr_url"]
    assert jira.status("JW-1") == "In Review"
    assert run["jira"]["comment_id"] == comment["id"]
    assert run["jira"]["transitions"]["start"]["status"] == "done"
    assert run["jira"]["transitions"]["pr"]["status"] == "done"
    assert "errors" not in run["jira"]
    assert {(r["version"], r["auth"], r["authorized"]) for r in jira.requests_for("JW-1")} == {
        (3, "basic", True)
    }
    assert jira_server.API_TOKEN not in cloud.logs() + json.dumps(run)

    # Every webhook Jira sends for those writes comes from the bot: none starts a run.
    for body in jira.webhooks("JW-1"):
        answer = cloud.client.post(
            "/webhook/jira", json=body, headers={"x-webhook-token": WEBHOOK_TOKEN}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "ignored"
    assert len(cloud.client.get("/runs", params={"ticket": "JW-1"}).json()["runs"]) == 1

    # A second run of the ticket reuses the pull request: its own comment, the same link.
    again = settled(cloud, post_ticket(cloud, "JW-1")["run_id"], "succeeded")
    assert again["pr_url"] == run["pr_url"]
    assert len(jira.comments("JW-1")) == 2
    assert len(jira.remote_links("JW-1")) == 1


def test_a_failed_run_says_why_and_what_to_do(
    world: World, jira: JiraServer, cloud: Service
) -> None:
    world.model.add("JWFAIL-1", Behaviour(prints_env_forever))
    run = settled(cloud, post_ticket(cloud, "JWFAIL-1")["run_id"], "failed")

    assert run["status"] == "failed"
    (comment,) = jira.comments("JWFAIL-1")
    text = adf_text(comment["body"])
    assert "auto-code could not finish this ticket." in text
    assert "the agent used all of its turns before it finished" in text
    assert "split it into smaller tickets" in text
    assert "MAX_TURNS=4" in text
    assert "transition_pr" not in run["jira"].get("transitions", {})
    assert jira.remote_links("JWFAIL-1") == []
    assert_env_seen_without(world, "JWFAIL-1", ["JIRA_API_TOKEN", jira_server.API_TOKEN])


FAULTS: dict[str, tuple[dict, Callable[[dict], bool]]] = {
    "JW401-1": ({"status": 401}, lambda e: e["status"] == 401),
    "JW403-1": ({"status": 403}, lambda e: e["status"] == 403),
    "JW404-1": ({"status": 404}, lambda e: e["status"] == 404),
    "JW429-1": (
        {"status": 429, "headers": {"Retry-After": "1"}},
        lambda e: e["status"] == 429,
    ),
    "JWDOWN-1": ({"drop": True}, lambda e: "connection failed" in e["message"]),
    "JWSLOW-1": ({"hold": True}, lambda e: "no answer within 2.0s" in e["message"]),
}


def test_jira_failing_never_fails_the_run_and_is_recorded_on_it(
    world: World, jira: JiraServer, cloud: Service
) -> None:
    for key, (fault, _) in FAULTS.items():
        jira.fault(f"/issue/{key}/", **fault)
        world.model.add(key, Behaviour(writes(GOOD)))
    accepted = {key: post_ticket(cloud, key)["run_id"] for key in FAULTS}

    for key, run_id in accepted.items():
        run = cloud.wait_for_run(run_id)
        assert run["status"] == "succeeded", (key, run.get("error"))
        assert run["pr_url"].startswith(PR_PREFIX)
        matches = FAULTS[key][1]

        def recorded(run_id: str = run_id, matches: Callable[[dict], bool] = matches) -> bool:
            errors = (cloud.run(run_id).get("jira") or {}).get("errors", [])
            return any(e["operation"] == "comment" and matches(e) for e in errors)

        wait_until(recorded, timeout=120, interval=0.2, what=f"{key}'s write-back error")
        assert jira.comments(key) == []


@pytest.fixture(scope="module")
def datacenter(world: World, jira: JiraServer) -> Iterator[Service]:
    service = world.service(
        "jira-dc",
        JIRA_BASE_URL=jira.url,
        **jira.datacenter_env(),
        DRY_RUN="true",
        JIRA_TRANSITION_ON_START="Blocked",
        IGNORE_ACCOUNT_IDS=jira_server.BOT_NAME,
    ).start()
    yield service
    service.stop()


def test_data_center_gets_wiki_markup_and_a_missing_transition_is_only_logged(
    world: World, jira: JiraServer, datacenter: Service
) -> None:
    def implement(worktree: Path, step: int) -> Reply:
        if step == 0:
            return bash(PRINT_ENV)
        return writes(GOOD)(worktree, step - 1)

    world.model.add("JWDC-1", Behaviour(implement))
    run = settled(datacenter, post_ticket(datacenter, "JWDC-1")["run_id"], "succeeded")

    assert run["status"] == "succeeded" and run["dry_run"] is True
    (comment,) = jira.comments("JWDC-1")
    assert all(isinstance(v, str) for v in comment["versions"])
    body = comment["body"]
    assert "*Dry run finished*: nothing was committed or pushed; every check passed." in body
    assert "{{" + run["worktree"].replace("-", "\\-").replace("_", "\\_") + "}}" in body
    assert "{{run\\_" in body, "without PUBLIC_URL the run id is shown, not linked"
    assert {r["version"] for r in jira.requests_for("JWDC-1")} == {2}
    assert {r["auth"] for r in jira.requests_for("JWDC-1")} == {"bearer"}
    start = run["jira"]["transitions"]["start"]
    assert start["status"] == "missing" and "Start work" in start["available"]
    assert "jira_transition_missing" in datacenter.logs()
    assert jira.remote_links("JWDC-1") == []
    assert_env_seen_without(world, "JWDC-1", ["JIRA_PAT", jira_server.PAT])
    assert jira_server.PAT not in datacenter.logs() + json.dumps(run)


def test_a_run_resumed_after_a_kill_edits_the_comment_it_made(
    world: World, jira: JiraServer
) -> None:
    hold = threading.Event()
    world.model.add("JWKILL-1", Behaviour(writes(GOOD), hold=hold))
    service = world.service(
        "jira-restart", JIRA_BASE_URL=jira.url, **jira.cloud_env(), PUBLIC_URL=PUBLIC
    )
    service.start()
    try:
        run_id = post_ticket(service, "JWKILL-1")["run_id"]
        wait_until(
            lambda: (service.run(run_id).get("jira") or {}).get("synced") == "running:implement",
            timeout=120,
            what="the comment to show the implement stage",
        )
        service.kill()
        hold.set()
        service.start()
        run = settled(service, run_id, "succeeded")
    finally:
        service.stop()

    assert run["status"] == "succeeded", run.get("error")
    (comment,) = jira.comments("JWKILL-1")
    assert len(comment_posts(jira, "JWKILL-1")) == 1
    assert "Ready for review" in adf_text(comment["body"])
    assert [s["status"] for s in run["stages"] if s["name"] == "implement"] == [
        "interrupted",
        "ok",
    ]
