"""The write-back observer with a real run store and a local server playing Jira: the run's one
comment, its remote link, and what a restart, a lost answer, a refusal or a slow Jira do to them.
"""

from __future__ import annotations

import asyncio

import pytest

from app.jira.writeback import JiraWriteBack
from app.pipeline.runs import RunStatus, RunStore
from tests.fakes.jira_server import JiraServer
from tests.fakes.service import wait_until
from tests.jira.adf_check import adf_links, adf_text, assert_valid_adf
from tests.jira.writeback_run import PUBLIC, Pipeline, run_to_pull_request, settings


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
