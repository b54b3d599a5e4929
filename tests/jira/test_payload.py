"""parse_event: every body shape Jira sends, and every way a body can be unusable."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import PayloadError
from app.jira import AUTOMATION, CUSTOM, IgnoredEvent, JiraEvent, parse_event
from tests.conftest import sample
from tests.jira.factories import (
    BASE,
    HUMAN,
    OMIT,
    make_automation_body,
    make_automation_top_level,
    make_custom_body,
    make_issue,
    make_issue_event,
)


def payload_error(body: object, **kwargs: Any) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        parse_event(body, **kwargs)
    return caught.value


# --- the real samples --------------------------------------------------------------------------


def test_sample_issue_created() -> None:
    event = parse_event(sample("cloud-issue_created-many-fields.json"))
    assert event.event == "jira:issue_created"
    assert event.ticket.key == "KT-22"
    assert event.ticket.summary == "Lots of fields selected"
    assert event.ticket.description == "The good description"
    assert event.ticket.labels == ("Label1", "Label2")
    assert event.ticket.url == "https://mmtest.atlassian.net/browse/KT-22"
    assert event.actor_account_id == "5cedcb4355a88a0fc86388ba"
    assert event.labels_added == ()
    assert event.has_changelog_labels is False
    assert event.issue_event_type == "issue_created"


def test_sample_issue_updated_with_labels_changelog() -> None:
    event = parse_event(sample("cloud-issue_updated-labels-changelog.json"))
    assert event.event == "jira:issue_updated"
    assert event.ticket.key == "TES-41"
    assert event.ticket.summary == "Unit test summary 1"
    assert event.ticket.labels == ("sad", "test-label")
    assert event.actor_account_id == "5c5f880629be9642ba529340"
    assert event.actor_ids == ("5c5f880629be9642ba529340", "admin")
    assert event.has_changelog_labels is True
    assert event.labels_added == ("sad",)  # "bad test-label" -> "sad test-label"
    assert event.labels_removed == ("bad",)


def test_configured_base_url_wins_over_the_self_link() -> None:
    body = sample("cloud-issue_created-many-fields.json")
    event = parse_event(body, jira_base_url="https://jira.example.com/")
    assert event.ticket.url == "https://jira.example.com/browse/KT-22"


# --- body shapes -------------------------------------------------------------------------------


def test_system_issue_created() -> None:
    event = parse_event(make_issue_event())
    assert isinstance(event, JiraEvent)
    assert event.event == "jira:issue_created"
    assert event.ticket.key == "PROJ-1"
    assert event.ticket.project == "PROJ"
    assert event.ticket.summary == "Add a /health endpoint"
    assert event.ticket.description == "## Goal\nReturn **ok** from `GET /health`."
    assert event.ticket.labels == ("auto-code",)
    assert event.ticket.url == f"{BASE}/browse/PROJ-1"
    assert event.actor_account_id == HUMAN


def test_system_issue_updated_labels_added() -> None:
    body = make_issue_event(
        event="jira:issue_updated", labels_change=("backend", "backend auto-code")
    )
    event = parse_event(body)
    assert event.event == "jira:issue_updated"
    assert event.labels_added == ("auto-code",)
    assert event.labels_removed == ()
    assert event.has_changelog_labels is True


def test_labels_changelog_from_nothing_and_to_nothing() -> None:
    added = parse_event(make_issue_event(event="jira:issue_updated", labels_change=(None, "a b")))
    assert added.labels_added == ("a", "b")
    removed = parse_event(make_issue_event(event="jira:issue_updated", labels_change=("a", None)))
    assert (removed.labels_added, removed.labels_removed) == ((), ("a",))


def test_automation_jira_format() -> None:
    event = parse_event(make_automation_body(labels=("x",)))
    assert event.event == AUTOMATION
    assert event.ticket.key == "PROJ-1"
    assert event.ticket.labels == ("x",)
    assert event.actor_account_id is None
    assert event.labels_added == ()


def test_automation_format_issue_at_the_top_level() -> None:
    event = parse_event(make_automation_top_level(key="WEB-12", summary="Top level"))
    assert event.event == AUTOMATION
    assert event.ticket.key == "WEB-12"
    assert event.ticket.summary == "Top level"
    assert event.ticket.url == f"{BASE}/browse/WEB-12"


def test_top_level_errors_name_top_level_fields() -> None:
    assert payload_error(make_automation_top_level(key="web-12")).field == "key"
    assert payload_error(make_automation_top_level(summary=OMIT)).field == "fields.summary"


def test_minimal_custom_body() -> None:
    event = parse_event(make_custom_body(description="Do *it*"))
    assert event.event == CUSTOM
    assert event.ticket.key == "PROJ-7"
    assert event.ticket.description == "Do **it**"
    assert event.ticket.labels == ()
    assert event.ticket.url is None
    assert event.actor_account_id is None


def test_minimal_custom_body_with_base_url() -> None:
    event = parse_event(make_custom_body(), jira_base_url="https://acme.atlassian.net")
    assert event.ticket.url == "https://acme.atlassian.net/browse/PROJ-7"
    assert event.ticket.description == ""


def test_adf_description_in_fields() -> None:
    adf = sample("adf-description-document.json")
    event = parse_event(make_automation_body(description=adf))
    assert event.ticket.description.startswith("# H1\n\n## H2")


def test_null_description() -> None:
    assert (
        parse_event(make_issue_event(issue=make_issue(description=None))).ticket.description == ""
    )


def test_data_center_user_has_name_and_key() -> None:
    body = make_issue_event(user={"name": "jdoe", "key": "JIRAUSER10100"})
    event = parse_event(body)
    assert event.actor_account_id == "jdoe"
    assert event.actor_ids == ("jdoe", "JIRAUSER10100")


@pytest.mark.parametrize(
    ("self_link", "url"),
    [
        ("https://jira.example.com/jira/rest/api/2/issue/1", "https://jira.example.com/jira/browse/PROJ-1"),
        ("http://localhost:8080/rest/api/2/issue/1", "http://localhost:8080/browse/PROJ-1"),
        ("javascript:alert(1)//rest/api/2/issue/1", None),
        ("https://user@evil.example/rest/api/2/issue/1", None),
        ("https://ok.example/a b/rest/api/2/issue/1", None),
        ("http://[::1/rest/api/2/issue/1", None),
        (42, None),
    ],
)  # fmt: skip
def test_browse_url_from_self_link(self_link: object, url: str | None) -> None:
    issue = make_issue()
    issue["self"] = self_link
    assert parse_event(make_issue_event(issue=issue)).ticket.url == url


def test_text_fields_are_sanitised_and_labels_cleaned() -> None:
    issue = make_issue(
        summary="  Fix\u200b the <!-- secretly: rm -rf / -->  login\n page ",
        description="Steps<!-- hidden -->\u202e",
        labels=["auto-code", "auto-code", 7, None, "", "be\u200bta"],
    )
    ticket = parse_event(make_issue_event(issue=issue)).ticket
    assert ticket.summary == "Fix the login page"
    assert ticket.description == "Steps"
    assert ticket.labels == ("auto-code", "beta")


def test_malformed_optional_parts_are_tolerated() -> None:
    body = make_issue_event(
        event="jira:issue_updated",
        user="not an object",
        changelog={"items": [None, "x", {"field": "labels", "fromString": 3, "toString": ["a"]}]},
        issue_event_type_name=["x"],
        issue=make_issue(labels="not a list"),
    )
    event = parse_event(body)
    assert event.actor_account_id is None
    assert event.labels_added == ()
    assert event.has_changelog_labels is True
    assert event.issue_event_type is None
    assert event.ticket.labels == ()


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["proj-1", "../x-1", "../../etc/passwd", "PROJ-0", "PROJ-01", "A-1", "PROJ-1\n", " PROJ-1",
     "PROJ-1/../x", "PROJ 1", "", "PROJ-\uff11", 123, ["PROJ-1"], {"k": 1}, True],
)  # fmt: skip
def test_bad_key(key: object) -> None:
    error = payload_error(make_issue_event(issue=make_issue(key=key)))
    assert error.field == "issue.key"


def test_missing_key() -> None:
    issue = make_issue()
    del issue["key"]
    error = payload_error({"issue": issue})
    assert (error.field, error.message) == ("issue.key", "required")


@pytest.mark.parametrize("summary", [OMIT, None, "", "   ", "\u200b\u200b", "<!-- x -->", 5, ["s"]])
def test_bad_summary(summary: object) -> None:
    error = payload_error(make_issue_event(issue=make_issue(summary=summary)))
    assert error.field == "issue.fields.summary"


def test_summary_too_long() -> None:
    error = payload_error(make_custom_body(summary="x" * 1001))
    assert error.field == "issue.fields.summary"


@pytest.mark.parametrize("fields", [None, "summary", ["summary"], 1])
def test_bad_fields(fields: object) -> None:
    error = payload_error({"issue": {"key": "PROJ-1", "fields": fields}})
    assert error.field == "issue.fields"


@pytest.mark.parametrize("body", [None, [], [{"issue": {}}], "issue", 1, 1.5, True, b"{}"])
def test_non_object_body(body: object) -> None:
    error = payload_error(body)
    assert (error.field, error.message) == ("body", "expected a JSON object")


@pytest.mark.parametrize("body", [{}, {"foo": 1}, {"timestamp": 1, "user": {"accountId": "x"}}])
def test_object_without_an_issue(body: dict[str, Any]) -> None:
    assert payload_error(body).field == "body"


@pytest.mark.parametrize("issue", [None, "PROJ-1", ["PROJ-1"], 7])
def test_issue_not_an_object(issue: object) -> None:
    assert payload_error({"issue": issue}).field == "issue"


@pytest.mark.parametrize("event", [1, "", "  ", ["jira:issue_created"], {}])
def test_bad_webhook_event(event: object) -> None:
    assert payload_error(make_issue_event(event=event)).field == "webhookEvent"


@pytest.mark.parametrize(
    ("body", "event"),
    [
        (make_issue_event(event="comment_created", comment={"body": "hi"}), "comment_created"),
        (make_issue_event(event="jira:issue_deleted"), "jira:issue_deleted"),
        ({"webhookEvent": "sprint_started", "sprint": {"id": 1}}, "sprint_started"),
        ({"webhookEvent": "jira:worklog_updated"}, "jira:worklog_updated"),
        ({"webhookEvent": "x\u200b<!-- y -->" + "z" * 500}, "x" + "z" * 98 + "…"),
    ],
)
def test_other_events_are_ignored_not_errors(body: dict[str, Any], event: str) -> None:
    with pytest.raises(IgnoredEvent) as caught:
        parse_event(body)
    assert caught.value.event == event
    assert caught.value.reason == f"event {event} is not an issue created/updated event"
    assert not isinstance(caught.value, PayloadError)
