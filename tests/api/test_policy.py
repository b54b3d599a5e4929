"""Trigger policy and rate limiting, as configured on a running service."""

from __future__ import annotations

import pytest

from tests.api.test_webhook import post
from tests.conftest import issue_body, sample
from tests.fakes.service import Service

BOT = "557058:bot-account"


@pytest.fixture(scope="module")
def service(start_service) -> Service:
    return start_service(
        WEBHOOK_SECRET="token-for-tests-0123456789",
        TRIGGER_LABEL="auto-code",
        ALLOWED_PROJECTS="PROJ,TES",
        IGNORE_ACCOUNT_IDS=BOT,
        RATE_LIMIT="1000/minute",
    )


def labelled(key: str, *labels: str) -> dict:
    return issue_body(key, labels=list(labels))


def test_ticket_without_the_label_is_ignored(service: Service) -> None:
    status, body = post(service, labelled("PROJ-10", "other"))
    assert status == 200
    assert "auto-code" in body["reason"]


def test_ticket_with_the_label_runs(service: Service) -> None:
    status, _ = post(service, labelled("PROJ-11", "auto-code"))
    assert status == 202


def test_project_outside_the_allowed_list_is_ignored(service: Service) -> None:
    status, body = post(service, labelled("OTHER-1", "auto-code"))
    assert status == 200
    assert "OTHER" in body["reason"]


def test_events_from_our_own_bot_are_ignored(service: Service) -> None:
    event = {
        "webhookEvent": "jira:issue_created",
        "user": {"accountId": BOT},
        **labelled("PROJ-12", "auto-code"),
    }
    status, body = post(service, event)
    assert status == 200
    assert body["status"] == "ignored"


def test_update_runs_only_when_the_label_was_just_added(service: Service) -> None:
    event = sample("cloud-issue_updated-labels-changelog.json")
    items = event["changelog"]["items"]
    labels_item = next(i for i in items if i["field"] == "labels")
    event["issue"]["fields"]["labels"] = ["auto-code"]
    labels_item.update(fromString="", toString="auto-code")
    assert post(service, event)[0] == 202

    labels_item.update(fromString="auto-code", toString="auto-code other")
    status, body = post(service, event)
    assert status == 200
    assert body["status"] == "ignored"


@pytest.fixture(scope="module")
def limited(start_service) -> Service:
    return start_service(RATE_LIMIT="3/minute")


def test_rate_limit_answers_429_with_retry_after(limited: Service) -> None:
    statuses = [post(limited, issue_body(f"RATE-{n}"), token=None)[0] for n in range(1, 4)]
    assert statuses == [202, 202, 202]
    response = limited.client.post("/webhook/jira", json=issue_body("RATE-9"))
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert limited.client.get("/health").status_code == 200
