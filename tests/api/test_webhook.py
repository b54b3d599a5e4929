"""POST /webhook/jira through a real server: auth, limits, parsing, idempotency, status codes."""

from __future__ import annotations

import json

import pytest

from app.api.auth import sign
from tests.api.conftest import HMAC_SECRET, TOKEN
from tests.conftest import issue_body, sample
from tests.fakes.service import Service


@pytest.fixture(scope="module")
def service(start_service) -> Service:
    return start_service(
        WEBHOOK_SECRET=TOKEN, JIRA_WEBHOOK_HMAC_SECRET=HMAC_SECRET, RATE_LIMIT="1000/minute"
    )


def post(
    service: Service,
    body: object,
    *,
    headers: dict[str, str] | None = None,
    token: str | None = TOKEN,
) -> tuple[int, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"content-type": "application/json", **(headers or {})}
    if token is not None:
        sent["x-webhook-token"] = token
    response = service.client.post("/webhook/jira", content=raw, headers=sent)
    return response.status_code, response.json()


def test_token_accepts_and_answers_with_the_run(service: Service) -> None:
    status, body = post(service, issue_body("AUTH-1"))
    assert status == 202
    assert body["ticket"] == "AUTH-1"
    assert body["status"] == "queued"
    assert body["status_url"].endswith(f"/runs/{body['run_id']}")
    run = service.run(body["run_id"])
    assert run["ticket"] == "AUTH-1"
    assert run["summary"] == "Add a greeting"


@pytest.mark.parametrize("token", [None, "wrong-token-wrong-token", ""])
def test_missing_or_wrong_token_is_401(service: Service, token: str | None) -> None:
    status, body = post(service, issue_body("AUTH-2"), token=token)
    assert status == 401
    assert "detail" in body


def test_hmac_signature_accepts(service: Service) -> None:
    raw = json.dumps(issue_body("HMAC-1")).encode()
    status, _ = post(service, raw, token=None, headers={"x-hub-signature": sign(HMAC_SECRET, raw)})
    assert status == 202


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, "sha1=abc", "garbage", "sha256="])
def test_bad_signature_is_401(service: Service, signature: str) -> None:
    status, _ = post(
        service, issue_body("HMAC-2"), token=None, headers={"x-hub-signature": signature}
    )
    assert status == 401


def test_signature_is_checked_over_the_raw_body(service: Service) -> None:
    raw = json.dumps(issue_body("HMAC-3")).encode()
    tampered = raw.replace(b"greeting", b"backdoor")
    status, _ = post(
        service, tampered, token=None, headers={"x-hub-signature": sign(HMAC_SECRET, raw)}
    )
    assert status == 401


@pytest.mark.parametrize(
    "name", ["cloud-issue_created-many-fields.json", "cloud-issue_updated-labels-changelog.json"]
)
def test_every_sample_webhook_is_accepted(service: Service, name: str) -> None:
    status, body = post(service, sample(name))
    assert status == 202, body


def test_adf_description_is_accepted(service: Service) -> None:
    body = issue_body("ADF-1", description=sample("adf-description-document.json"))
    status, answer = post(service, body)
    assert status == 202, answer


@pytest.mark.parametrize(
    "body",
    [
        {"key": "AUTO-7", "fields": {"summary": "Automation format, issue at the top level"}},
        {"issue": {"key": "AUTO-8", "fields": {"summary": "Jira format", "description": None}}},
        {
            "webhookEvent": "jira:issue_created",
            "issue": {"key": "AUTO-9", "fields": {"summary": "System"}},
        },
    ],
)
def test_every_body_shape_is_accepted(service: Service, body: dict) -> None:
    status, answer = post(service, body)
    assert status == 202, answer


def test_malformed_json_is_400(service: Service) -> None:
    status, body = post(service, b'{"issue": ')
    assert status == 400
    assert "JSON" in body["detail"]


def test_oversized_body_is_413(service: Service) -> None:
    big = issue_body("BIG-1", description="x" * (1024 * 1024 + 1))
    status, _ = post(service, big)
    assert status == 413


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (issue_body("proj-1"), "issue.key"),
        (issue_body("../../etc-1"), "issue.key"),
        (issue_body("PROJ-0"), "issue.key"),
        (issue_body("PROJ-1; rm -rf /"), "issue.key"),
        (issue_body("PROJ-2", summary=""), "issue.fields.summary"),
        ({"issue": {"key": "PROJ-3", "fields": {}}}, "issue.fields.summary"),
    ],
)
def test_unusable_ticket_is_422_naming_the_field(service: Service, body: dict, field: str) -> None:
    status, answer = post(service, body)
    assert status == 422
    assert answer["field"] == field


def test_non_issue_event_is_ignored_with_200(service: Service) -> None:
    body = {"webhookEvent": "comment_created", "comment": {"body": "hi"}}
    status, answer = post(service, body)
    assert status == 200
    assert answer["status"] == "ignored"
    assert "comment_created" in answer["reason"]


def test_same_delivery_identifier_never_makes_a_second_run(service: Service) -> None:
    headers = {"x-atlassian-webhook-identifier": "delivery-dup-1"}
    first_status, first = post(service, issue_body("DUP-1"), headers=headers)
    service.wait_for_run(first["run_id"], timeout=60)
    again_status, again = post(service, issue_body("DUP-1"), headers=headers)
    assert (first_status, again_status) == (202, 202)
    assert again["run_id"] == first["run_id"]
    assert again["duplicate"] is True
    runs = service.client.get("/runs", params={"ticket": "DUP-1"}).json()["runs"]
    assert [r["run_id"] for r in runs] == [first["run_id"]]


def test_a_ticket_whose_run_ended_can_run_again(service: Service) -> None:
    _, first = post(service, issue_body("AGAIN-1"))
    service.wait_for_run(first["run_id"], timeout=60)
    _, second = post(service, issue_body("AGAIN-1"))
    assert second["run_id"] != first["run_id"]
    runs = service.client.get("/runs", params={"ticket": "AGAIN-1"}).json()["runs"]
    assert [r["run_id"] for r in runs] == [second["run_id"], first["run_id"]]


def test_a_failed_run_says_why(service: Service) -> None:
    _, accepted = post(service, issue_body("FAIL-1"))
    run = service.wait_for_run(accepted["run_id"], timeout=60)
    assert run["status"] == "failed"
    assert run["error"]["stage"] == "workspace"
    assert run["stages"][0]["name"] == "workspace"
    assert run["stages"][0]["commands"], "the failing git command is on the record"


def test_unknown_run_is_404(service: Service) -> None:
    assert service.client.get("/runs/run_nope").status_code == 404


def test_health_and_ready(service: Service) -> None:
    assert service.client.get("/health").json() == {"status": "ok"}
    ready = service.client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"


def test_an_overlong_delivery_identifier_still_deduplicates(service: Service) -> None:
    """The identifier has no length limit in Jira; the column has one (Postgres enforces it)."""
    headers = {"x-atlassian-webhook-identifier": "d" * 500}
    _, first = post(service, issue_body("LONG-1"), headers=headers)
    service.wait_for_run(first["run_id"], timeout=60)
    status, again = post(service, issue_body("LONG-1"), headers=headers)
    assert status == 202
    assert again["run_id"] == first["run_id"]
