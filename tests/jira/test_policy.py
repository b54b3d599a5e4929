"""decide: which events start a run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from app.jira import Decision, JiraEvent, decide, parse_event
from tests.conftest import sample
from tests.jira.factories import (
    BOT,
    HUMAN,
    make_automation_body,
    make_automation_top_level,
    make_custom_body,
    make_issue,
    make_issue_event,
)

LABEL = "auto-code"


def created(*, labels: Sequence[str] = (LABEL,), key: str = "PROJ-1", **kw: Any) -> JiraEvent:
    return parse_event(make_issue_event(issue=make_issue(key=key, labels=tuple(labels)), **kw))


def updated(
    *,
    labels: Sequence[str] = (LABEL,),
    change: tuple[str | None, str | None] | None = None,
    type_name: str | None = None,
    **kw: Any,
) -> JiraEvent:
    body = make_issue_event(
        event="jira:issue_updated",
        issue=make_issue(labels=tuple(labels)),
        labels_change=change,
        type_name=type_name,
        **kw,
    )
    return parse_event(body)


def run(
    event: JiraEvent,
    trigger_label: str | None = LABEL,
    allowed_projects: Sequence[str] = (),
    ignore_account_ids: Sequence[str] = (BOT,),
) -> Decision:
    return decide(
        event,
        trigger_label=trigger_label,
        allowed_projects=allowed_projects,
        ignore_account_ids=ignore_account_ids,
    )


CASES: list[tuple[str, JiraEvent, dict[str, Any], bool, str]] = [
    # with a trigger label
    ("created, labelled", created(), {}, True, "PROJ-1 carries the label 'auto-code'"),
    ("created, unlabelled", created(labels=["other"]), {}, False,
     "PROJ-1 does not carry the label 'auto-code'"),
    ("label compared case-insensitively", created(labels=["Auto-Code"]), {}, True, "carries"),
    ("updated, label just added", updated(change=("x", "x auto-code")), {}, True,
     "PROJ-1: the label 'auto-code' was added"),
    ("updated, label already there, other field changed", updated(), {}, False,
     "PROJ-1: the label 'auto-code' was not just added by this update"),
    ("updated, another label added to a labelled ticket",
     updated(labels=[LABEL, "x"], change=(LABEL, f"{LABEL} x")), {}, False, "not just added"),
    ("updated, label added but removed again since", updated(labels=[], change=("", LABEL)), {},
     False, "does not carry"),
    ("updated, label removed", updated(labels=[], change=(LABEL, "")), {}, False, "does not carry"),
    ("automation, labelled", parse_event(make_automation_body()), {}, True, "(automation)"),
    ("automation top level, unlabelled", parse_event(make_automation_top_level(labels=())), {},
     False, "does not carry"),
    ("custom body has no labels", parse_event(make_custom_body()), {}, False,
     "PROJ-7 does not carry the label 'auto-code'"),
    # allowed projects
    ("project allowed", created(), {"allowed_projects": ["PROJ", "WEB"]}, True, "carries"),
    ("project allowed, any case in config", created(), {"allowed_projects": ["proj"]}, True, ""),
    ("project not allowed", created(key="OPS-3"), {"allowed_projects": ["PROJ"]}, False,
     "OPS-3: project OPS is not allowed"),
    ("allowed projects as a comma string", created(key="OPS-3"),
     {"allowed_projects": "PROJ, OPS"}, True, ""),
    # our own bot
    ("bot account", created(account_id=BOT), {}, False,
     f"PROJ-1: event caused by ignored account {BOT}"),
    ("bot adding the label", updated(account_id=BOT, change=("", LABEL)), {}, False,
     "ignored account"),
    ("Data Center bot by user name", created(user={"name": "svc-auto", "key": "JIRAUSER1"}),
     {"ignore_account_ids": ["svc-auto"]}, False, "ignored account svc-auto"),
    ("human account", created(account_id=HUMAN), {}, True, ""),
    # without a trigger label
    ("no label: created", created(labels=[]), {"trigger_label": None}, True,
     "PROJ-1: jira:issue_created"),
    ("no label: blank label is unset", created(labels=[]), {"trigger_label": "  "}, True, ""),
    ("no label: any update", updated(labels=[]), {"trigger_label": None}, True,
     "PROJ-1: jira:issue_updated"),
    ("no label: a comment", updated(labels=[], type_name="issue_commented"),
     {"trigger_label": None}, False, "PROJ-1: issue_commented does not change the ticket"),
    ("no label: a worklog", updated(type_name="issue_work_logged"), {"trigger_label": None},
     False, "does not change the ticket"),
    ("no label: custom body", parse_event(make_custom_body()), {"trigger_label": None}, True,
     "PROJ-7: custom"),
    ("no label: bot still ignored", created(account_id=BOT), {"trigger_label": None}, False,
     "ignored account"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "options", "runs", "reason"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_decide(event: JiraEvent, options: dict[str, Any], runs: bool, reason: str) -> None:
    decision = run(event, **options)
    assert decision.run is runs
    assert reason in decision.reason


def test_samples() -> None:
    created_sample = parse_event(sample("cloud-issue_created-many-fields.json"))
    assert run(created_sample, trigger_label="Label1").run
    assert not run(created_sample).run
    updated_sample = parse_event(sample("cloud-issue_updated-labels-changelog.json"))
    assert run(updated_sample, trigger_label="sad").run  # "sad" was just added
    assert not run(updated_sample, trigger_label="test-label").run  # it was there before


def test_reasons_are_plain_sentences() -> None:
    for _, event, options, _, _ in CASES:
        reason = run(event, **options).reason
        assert reason and "\n" not in reason and not reason.lower().startswith("ignored")
