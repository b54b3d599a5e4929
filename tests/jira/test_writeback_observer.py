"""The write-back observer with a real run store and a local server playing Jira.

Stages are entered the way `tracking.tracked_stage` enters them; `aclose()` (what the service
calls before it stops) is the point where the background writes have ended.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.jira import decide, parse_event
from app.jira.writeback import JiraWriteBack
from app.pipeline.runs import Run, RunStatus, RunStore, utcnow
from app.ticket import Ticket
from tests.fakes.jira_server import BOT_ACCOUNT_ID, BOT_NAME, JiraServer
from tests.fakes.service import wait_until
from tests.jira.adf_check import adf_links, adf_text, assert_valid_adf

PUBLIC = "https://auto-code.example.com"


@pytest.fixture
def jira() -> Iterator[JiraServer]:
    server = JiraServer().start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    yield store
    store.close()


def settings(jira: JiraServer, *, datacenter: bool = False, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "jira_base_url": jira.url,
        "jira_transition_on_start": "In Progress",
        "jira_transition_on_pr": "Ready for review",
        "ignore_account_ids": [BOT_NAME if datacenter else BOT_ACCOUNT_ID],
        "public_url": PUBLIC,
        "jira_timeout_s": 5,
        "jira_retries": 1,
        **(jira.datacenter_env() if datacenter else jira.cloud_env()),
        **overrides,
    }
    return Settings(**{k.lower(): v for k, v in values.items()})


class Pipeline:
    """Plays a run's bookkeeping the way the workflow does, with the observer watching."""

    def __init__(self, store: RunStore, writer: JiraWriteBack, key: str) -> None:
        self.store = store
        self.writer = writer
        self.run = store.admit(
            Ticket(key=key, summary="Add a greeting"), delivery_id=None, trigger="custom"
        ).run

    async def stage(self, name: str, **fields: Any) -> Run:
        def start(record: dict[str, Any]) -> None:
            record.setdefault("stages", []).append(
                {"name": name, "status": "running", "started_at": utcnow().isoformat()}
            )

        run = self.store.update(
            self.run.id, status=RunStatus.RUNNING, stage=name, mutate=start, **fields
        )
        async with self.writer.stage(run, name):
            pass
        await self.writer.aclose()
        return run

    async def finish(self, status: RunStatus, **fields: Any) -> Run:
        run = self.store.update(
            self.run.id, status=status, stage="done", finished_at=utcnow().isoformat(), **fields
        )
        await self.writer.run_finished(run)
        await self.writer.aclose()
        return run

    def jira_record(self) -> dict[str, Any]:
        run = self.store.get(self.run.id)
        assert run is not None
        return run.record.get("jira", {})


PASSED = {
    "review": {"status": "passed", "fix_rounds": 1},
    "lint": {"status": "passed", "fix_rounds": 0},
}


async def run_to_pull_request(pipeline: Pipeline, pr: int = 7) -> Run:
    await pipeline.stage("workspace")
    await pipeline.stage("implement")
    await pipeline.stage("fix_review#1", gates={"review": {"status": "failed", "fix_rounds": 0}})
    await pipeline.stage("pull_request", gates=PASSED)
    url = f"https://github.com/acme/widgets/pull/{pr}"
    return await pipeline.finish(
        RunStatus.SUCCEEDED, pr_url=url, pr_number=pr, gates=PASSED, cost_usd=0.25, turns=9
    )


async def test_one_comment_is_created_then_edited_to_the_outcome(
    jira: JiraServer, store: RunStore
) -> None:
    pipeline = Pipeline(store, JiraWriteBack(settings(jira), store), "PROJ-1")
    await run_to_pull_request(pipeline)

    (comment,) = jira.comments("PROJ-1")
    posts = [
        r
        for r in jira.requests_for("PROJ-1")
        if r["method"] == "POST" and r["route"].endswith("/comment")
    ]
    assert len(posts) == 1
    versions = comment["versions"]
    assert len(versions) == 5
    for version in versions:
        assert_valid_adf(version)
    texts = [adf_text(v) for v in versions]
    assert "now preparing the repository" in texts[0]
    assert "now implementing the ticket" in texts[1]
    assert "code review: ❌ failed, fixing it" in texts[2]
    assert "Ready for review: pull request #7" in texts[4]
    assert "code review: ✅ passed after 1 fix round" in texts[4]
    assert "Cost $0.25 · 9 agent turns" in texts[4]
    assert (pipeline.run.id, f"{PUBLIC}/runs/{pipeline.run.id}") in adf_links(versions[0])

    (link,) = jira.remote_links("PROJ-1")
    assert link["object"]["url"] == "https://github.com/acme/widgets/pull/7"
    assert link["globalId"] == "auto-code:pull-request=https://github.com/acme/widgets/pull/7"
    assert jira.status("PROJ-1") == "In Review"

    record = pipeline.jira_record()
    assert record["comment_id"] == comment["id"]
    assert record["synced"] == "succeeded"
    assert record["remote_link"] == link["object"]["url"]
    assert record["transitions"] == {
        "start": {"name": "In Progress", "status": "done"},
        "pr": {"name": "Ready for review", "status": "done"},
    }
    assert "errors" not in record and "comment_creating" not in record


async def test_a_rerun_updates_the_same_remote_link(jira: JiraServer, store: RunStore) -> None:
    writer = JiraWriteBack(settings(jira), store)
    await run_to_pull_request(Pipeline(store, writer, "PROJ-2"))
    await run_to_pull_request(Pipeline(store, writer, "PROJ-2"))

    assert len(jira.remote_links("PROJ-2")) == 1
    assert len(jira.comments("PROJ-2")) == 2  # one per run


async def test_after_a_restart_the_run_edits_the_same_comment(
    jira: JiraServer, store: RunStore
) -> None:
    before = Pipeline(store, JiraWriteBack(settings(jira), store), "PROJ-3")
    await before.stage("workspace")
    after = Pipeline.__new__(Pipeline)  # the same run, seen by a new process's observer
    after.store, after.run, after.writer = store, before.run, JiraWriteBack(settings(jira), store)
    await after.stage("implement")

    (comment,) = jira.comments("PROJ-3")
    assert len(comment["versions"]) == 2
    assert "now implementing the ticket" in adf_text(comment["body"])


async def test_a_creation_whose_answer_was_lost_is_found_not_repeated(
    jira: JiraServer, store: RunStore
) -> None:
    jira.fault("POST /issue/LOST-1/comment$", act_then_hold=True, times=1)
    pipeline = Pipeline(store, JiraWriteBack(settings(jira, jira_timeout_s=0.5), store), "LOST-1")
    await pipeline.stage("workspace")
    assert pipeline.jira_record()["comment_creating"] is True
    assert "no answer within 0.5s" in pipeline.jira_record()["errors"][0]["message"]

    await pipeline.stage("implement")

    (comment,) = jira.comments("LOST-1")
    assert pipeline.jira_record()["comment_id"] == comment["id"]
    assert "comment_creating" not in pipeline.jira_record()
    assert "now implementing the ticket" in adf_text(comment["body"])


async def test_a_deleted_comment_is_replaced(jira: JiraServer, store: RunStore) -> None:
    pipeline = Pipeline(store, JiraWriteBack(settings(jira), store), "GONE-1")
    await pipeline.stage("workspace")
    jira.delete_comment("GONE-1", pipeline.jira_record()["comment_id"])
    await pipeline.stage("implement")

    (comment,) = jira.comments("GONE-1")
    assert pipeline.jira_record()["comment_id"] == comment["id"]
    assert "errors" not in pipeline.jira_record()


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_refusals_are_recorded_and_not_repeated(
    jira: JiraServer, store: RunStore, status: int
) -> None:
    key = f"DENY-{status}"
    jira.fault(f"/issue/{key}/", status=status)
    pipeline = Pipeline(store, JiraWriteBack(settings(jira), store), key)
    await run_to_pull_request(pipeline)

    errors = pipeline.jira_record()["errors"]
    assert {e["operation"] for e in errors} == {
        "comment",
        "transition_start",
        "remote_link",
        "transition_pr",
    }
    assert {e["status"] for e in errors} == {status}
    comment_posts = [r for r in jira.requests_for(key) if r["route"].endswith("/comment")]
    assert len(comment_posts) == 1
    assert store.get(pipeline.run.id).status == RunStatus.SUCCEEDED  # type: ignore[union-attr]


async def test_writes_never_hold_up_the_run(jira: JiraServer, store: RunStore) -> None:
    """Jira answers nothing until released, yet every hook returns: the writes wait, not the run."""
    jira.fault("/issue/SLOW-1/", hold=True)
    writer = JiraWriteBack(settings(jira, jira_timeout_s=120), store)
    pipeline = Pipeline(store, writer, "SLOW-1")

    async def enter(name: str) -> None:
        run = store.update(pipeline.run.id, status=RunStatus.RUNNING, stage=name)
        async with writer.stage(run, name):
            pass

    await enter("workspace")
    # Polled from a thread, so the loop is free to run the writer until Jira holds its request.
    await asyncio.to_thread(
        wait_until, lambda: jira.requests_for("SLOW-1"), timeout=30, what="the comment request"
    )
    await enter("implement")
    await enter("pull_request")
    run = store.update(pipeline.run.id, status=RunStatus.NO_CHANGES, explanation="Nothing to do.")
    await writer.run_finished(run)

    assert len(jira.requests_for("SLOW-1")) == 1 and jira.comments("SLOW-1") == []
    jira.release()
    await writer.aclose()

    (comment,) = jira.comments("SLOW-1")
    assert "Finished without changing anything." in adf_text(comment["body"])
    assert len(comment["versions"]) == 2  # the first stage, then straight to the outcome


async def test_transitions_are_skipped_when_their_webhook_would_start_a_run(
    jira: JiraServer, store: RunStore
) -> None:
    unsafe = settings(jira, ignore_account_ids=[])
    pipeline = Pipeline(store, JiraWriteBack(unsafe, store), "LOOP-1")
    await run_to_pull_request(pipeline)

    transitions = pipeline.jira_record()["transitions"]
    assert transitions["start"]["status"] == transitions["pr"]["status"] == "skipped"
    assert f"add {BOT_ACCOUNT_ID} to IGNORE_ACCOUNT_IDS" in transitions["start"]["reason"]
    assert not [r for r in jira.requests_for("LOOP-1") if r["route"].endswith("/transitions")]
    assert len(jira.comments("LOOP-1")) == 1

    labelled = settings(jira, ignore_account_ids=[], trigger_label="auto-code")
    pipeline = Pipeline(store, JiraWriteBack(labelled, store), "LOOP-2")
    await run_to_pull_request(pipeline)
    assert jira.status("LOOP-2") == "In Review"


async def test_a_missing_transition_is_logged_not_fatal(
    jira: JiraServer, store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    writer = JiraWriteBack(settings(jira, jira_transition_on_start="Blocked"), store)
    pipeline = Pipeline(store, writer, "MISS-1")
    with caplog.at_level(logging.WARNING, logger="auto_code.jira"):
        await run_to_pull_request(pipeline)

    start = pipeline.jira_record()["transitions"]["start"]
    assert start == {
        "name": "Blocked",
        "status": "missing",
        "available": ["Start work", "Ready for review", "Done"],
    }
    assert any(r.message == "jira_transition_missing" for r in caplog.records)
    assert jira.status("MISS-1") == "In Review"


async def test_data_center_gets_wiki_markup(jira: JiraServer, store: RunStore) -> None:
    pipeline = Pipeline(store, JiraWriteBack(settings(jira, datacenter=True), store), "DC-1")
    await run_to_pull_request(pipeline)

    (comment,) = jira.comments("DC-1")
    assert all(isinstance(v, str) for v in comment["versions"])
    assert "[pull request \\#7|https://github.com/acme/widgets/pull/7]" in comment["body"]
    assert {r["version"] for r in jira.requests_for("DC-1")} == {2}
    assert jira.status("DC-1") == "In Review"


@pytest.mark.parametrize(
    ("label", "ignored", "transition_starts_a_run"),
    [(None, [BOT_ACCOUNT_ID], False), ("auto-code", [], False), (None, [], True)],
)
async def test_our_own_writes_do_not_start_runs(
    jira: JiraServer,
    store: RunStore,
    label: str | None,
    ignored: list[str],
    transition_starts_a_run: bool,
) -> None:
    """Feed the trigger policy every webhook Jira sends for what write-back did.

    Comments never start a run; a transition would without a label or the bot ignored, which
    is why write-back then skips transitions (see the test above).
    """
    pipeline = Pipeline(store, JiraWriteBack(settings(jira, trigger_label=None), store), "SELF-1")
    await run_to_pull_request(pipeline)
    webhooks = jira.webhooks("SELF-1")
    assert {w.get("issue_event_type_name") for w in webhooks} >= {
        "issue_commented",
        "issue_comment_edited",
        "issue_generic",
    }

    starts = []
    for body in webhooks:
        if body["webhookEvent"] != "jira:issue_updated":
            continue  # comment_created / comment_updated: not issue events, ignored by parsing
        event = parse_event(body)
        decision = decide(
            event, trigger_label=label, allowed_projects=[], ignore_account_ids=ignored
        )
        if decision.run:
            starts.append(body["issue_event_type_name"])
    assert starts == (["issue_generic", "issue_generic"] if transition_starts_a_run else [])
    assert json.dumps(webhooks).count(BOT_ACCOUNT_ID) >= len(webhooks) // 2
