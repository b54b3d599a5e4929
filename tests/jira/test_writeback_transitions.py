"""The write-back observer's transitions, and why none of our own writes starts a run."""

from __future__ import annotations

import json
import logging

import pytest

from app.jira import decide, parse_event
from app.jira.writeback import JiraWriteBack
from app.pipeline.runs import RunStatus, RunStore
from tests.fakes.jira_server import BOT_ACCOUNT_ID, JiraServer
from tests.jira.writeback_run import Pipeline, run_to_pull_request, settings


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
    is why write-back then skips transitions (see the first test of this module).
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


async def test_a_first_sync_after_a_failure_leaves_the_ticket_where_it_was(
    jira: JiraServer, store: RunStore
) -> None:
    """The run ended before Jira heard of it (Jira was down, or a catch-up at start-up): no
    "in progress" for a run that is over without a pull request; with one, both transitions."""
    failed = Pipeline(store, JiraWriteBack(settings(jira), store), "LATE-1")
    before = jira.status("LATE-1")
    await failed.finish(RunStatus.FAILED, error={"type": "AgentError", "message": "no"})

    assert jira.status("LATE-1") == before
    assert not [r for r in jira.requests_for("LATE-1") if r["route"].endswith("/transitions")]
    assert len(jira.comments("LATE-1")) == 1

    opened = Pipeline(store, JiraWriteBack(settings(jira), store), "LATE-2")
    pr = "https://github.com/acme/widgets/pull/9"
    await opened.finish(RunStatus.SUCCEEDED, pr_url=pr, pr_number=9)
    assert jira.status("LATE-2") == "In Review"
