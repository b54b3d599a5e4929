"""Ticket to pull request through the real service, the real Claude CLI, real git and a gh shim."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.world import (
    FIRST_DRAFT,
    FIX_ALL,
    GH_TOKEN,
    GOOD,
    WEBHOOK_TOKEN,
    Behaviour,
    World,
    keeps_working,
    post_ticket,
    pr_creates,
    runs,
    says,
    worktree_of,
    world_fixture,
    writes,
)
from tests.fakes.git_repos import commit_info, git, rev
from tests.fakes.service import Service, wait_until

world = world_fixture("e2e")


@pytest.fixture(scope="module")
def service(world: World) -> Iterator[Service]:
    service = world.service("live").start()
    yield service
    service.stop()


def assert_no_secret_leaked(world: World, service: Service, run: dict) -> None:
    secrets = [GH_TOKEN, WEBHOOK_TOKEN]
    for request in world.model.server.requests:
        body = json.dumps(request.body)
        for secret in [*secrets, "sk-ant-fake-key"]:
            assert secret not in body, "a secret reached the model"
    for secret in secrets:
        assert secret not in json.dumps(run)
        assert secret not in service.logs()
        assert secret not in json.dumps(world.gh.calls())


def test_ticket_becomes_a_pull_request_with_every_gate_fixed_by_resume(
    world: World, service: Service
) -> None:
    world.model.add("HAPPY-1", Behaviour(writes(FIRST_DRAFT), fixes=FIX_ALL))
    accepted = post_ticket(service, "HAPPY-1", "Greet the world")
    run = service.wait_for_run(accepted["run_id"])

    assert run["status"] == "succeeded", json.dumps(run, indent=1)[-3000:]
    assert run["pr_url"].startswith("https://github.com/acme/widgets/pull/")
    assert {name: gate["status"] for name, gate in run["gates"].items()} == {
        "review": "passed",
        "lint": "passed",
        "test": "passed",
    }
    assert {name: gate["fix_rounds"] for name, gate in run["gates"].items()} == {
        "review": 1,
        "lint": 1,
        "test": 1,
    }
    assert run["turns"] > 0 and run["cost_usd"] >= 0
    assert run["stages"][0]["name"] == "workspace"
    assert all(stage["duration_s"] is not None for stage in run["stages"])

    branch = "ticket/happy-1"
    landed = git("show", f"{branch}:src/happy-1.py", cwd=world.origin)
    assert landed == GOOD
    info = commit_info(world.origin, branch)
    assert info["message"].strip() == "HAPPY-1: Greet the world"
    assert info["author_name"] == "auto-code[bot]"

    creates = pr_creates(world, branch)
    assert len(creates) == 1
    assert "--base=main" in creates[0]["argv"]
    assert creates[0]["gh_token"] is True
    assert "--draft" not in creates[0]["argv"]
    assert "https://acme.atlassian.net/browse/HAPPY-1" in creates[0]["body"]

    # Every fix went into the implementation session: same session id, earlier turns resent.
    requests = world.model.requests_of("HAPPY-1")
    implement = next(
        r for r in requests if "Implement Jira ticket HAPPY-1" in json.dumps(r.messages)
    )
    for gate in ("review", "lint", "test"):
        fix = next(r for r in requests if f"The {gate} gate failed" in json.dumps(r.messages))
        assert fix.session_id == implement.session_id == run["session_id"]
        assert "Implement Jira ticket HAPPY-1" in json.dumps(fix.messages[:3])

    assert not worktree_of(Path(service.env["WORKSPACE_DIR"]), "HAPPY-1").exists()
    assert_no_secret_leaked(world, service, run)


def test_gates_that_never_pass_open_a_draft_listing_them(world: World, service: Service) -> None:
    world.model.add("DRAFT-1", Behaviour(writes(GOOD.replace("\n", "  # LINTME\n", 1))))
    run = service.wait_for_run(post_ticket(service, "DRAFT-1")["run_id"])

    assert run["status"] == "gates_failing"
    assert run["failing_gates"] == ["lint"]
    assert run["gates"]["lint"]["fix_rounds"] == 2
    creates = pr_creates(world, "ticket/draft-1")
    assert len(creates) == 1
    assert "--draft" in creates[0]["argv"]
    assert "lint" in creates[0]["body"] and "LINTME" in creates[0]["body"]


def test_no_changes_ends_without_commit_or_pr(world: World, service: Service) -> None:
    explanation = "Nothing to change: greet() already returns hello, world."
    world.model.add("NOCHG-1", Behaviour(says(explanation)))
    run = service.wait_for_run(post_ticket(service, "NOCHG-1")["run_id"])

    assert run["status"] == "no_changes"
    assert explanation in run["explanation"]
    assert rev(world.origin, "ticket/nochg-1") is None
    assert pr_creates(world, "ticket/nochg-1") == []


def test_agent_hitting_max_turns_fails_with_a_clear_error(world: World, service: Service) -> None:
    world.model.add("TURNS-1", Behaviour(keeps_working))
    run = service.wait_for_run(post_ticket(service, "TURNS-1")["run_id"])

    assert run["status"] == "failed"
    assert "turn" in run["error"]["message"].lower()
    assert rev(world.origin, "ticket/turns-1") is None
    assert run["worktree"], "the worktree is kept for inspection"


def test_rerun_continues_the_pushed_branch_and_reuses_the_pr(
    world: World, service: Service
) -> None:
    append = (
        "mkdir -p src; test -f src/rerun-1.py || "
        "printf \"def greet():\\n    return 'hello, world'\\n\" > src/rerun-1.py; "
        "echo '# again' >> src/rerun-1.py"
    )
    world.model.add("RERUN-1", Behaviour(runs(append)))
    first = service.wait_for_run(post_ticket(service, "RERUN-1")["run_id"])
    first_sha = rev(world.origin, "ticket/rerun-1")
    second = service.wait_for_run(post_ticket(service, "RERUN-1")["run_id"])

    assert (first["status"], second["status"]) == ("succeeded", "succeeded")
    assert second["pr_url"] == first["pr_url"]
    assert len(pr_creates(world, "ticket/rerun-1")) == 1
    second_sha = rev(world.origin, "ticket/rerun-1")
    assert second_sha != first_sha
    assert git("rev-parse", f"{second_sha}^", cwd=world.origin).strip() == first_sha
    assert git("show", "ticket/rerun-1:src/rerun-1.py", cwd=world.origin).count("# again") == 2


def test_concurrent_tickets_each_get_their_pr(world: World, service: Service) -> None:
    keys = ["CONC-1", "CONC-2", "CONC-3"]
    for key in keys:
        world.model.add(key, Behaviour(writes(GOOD)))
    accepted = [post_ticket(service, key) for key in keys]
    finished = [service.wait_for_run(a["run_id"]) for a in accepted]

    assert [run["status"] for run in finished] == ["succeeded"] * 3
    assert len({run["pr_url"] for run in finished}) == 3
    for key in keys:
        assert len(pr_creates(world, f"ticket/{key.lower()}")) == 1


def test_an_active_ticket_is_not_queued_again(world: World, service: Service) -> None:
    hold = threading.Event()
    world.model.add("HOLD-1", Behaviour(writes(GOOD), hold=hold))
    first = post_ticket(service, "HOLD-1", delivery="hold-a")
    wait_until(
        lambda: service.run(first["run_id"])["stage"] == "implement",
        timeout=60,
        what="the run to reach implement",
    )
    second = post_ticket(service, "HOLD-1", delivery="hold-b")
    hold.set()

    assert second["run_id"] == first["run_id"]
    assert second["duplicate"] is True
    assert service.wait_for_run(first["run_id"])["status"] == "succeeded"
    runs_of = service.client.get("/runs", params={"ticket": "HOLD-1"}).json()["runs"]
    assert len(runs_of) == 1


def test_dry_run_leaves_the_worktree_pushes_nothing_and_calls_no_gh(world: World) -> None:
    world.model.add("DRY-1", Behaviour(writes(FIRST_DRAFT), fixes=FIX_ALL))
    gh_calls_before = len(world.gh.calls())
    service = world.service("dry", DRY_RUN="true").start()
    try:
        run = service.wait_for_run(post_ticket(service, "DRY-1")["run_id"])
    finally:
        service.stop()

    assert run["status"] == "succeeded"
    assert run["dry_run"] is True
    worktree = Path(run["worktree"])
    assert (worktree / "src" / "dry-1.py").read_text() == GOOD
    assert run["cleanup_command"].endswith(f"worktree remove {worktree} --force")
    assert rev(world.origin, "ticket/dry-1") is None
    assert len(world.gh.calls()) == gh_calls_before
    assert run["pr_url"] is None
