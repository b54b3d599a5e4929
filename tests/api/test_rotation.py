"""Rotating a webhook secret: the previous one is still accepted, and every use of it is logged."""

from __future__ import annotations

import json

import pytest

from app.api.auth import sign
from tests.api.test_webhook import post
from tests.conftest import issue_body
from tests.fakes.service import Service, wait_until

NEW_TOKEN = "new-token-for-tests-0123456789"
OLD_TOKEN = "old-token-for-tests-0123456789"
NEW_HMAC = "new hmac secret for the tests"
OLD_HMAC = "old hmac secret for the tests"


@pytest.fixture(scope="module")
def service(start_service) -> Service:
    return start_service(
        WEBHOOK_SECRET=NEW_TOKEN,
        WEBHOOK_SECRET_PREVIOUS=OLD_TOKEN,
        JIRA_WEBHOOK_HMAC_SECRET=NEW_HMAC,
        JIRA_WEBHOOK_HMAC_SECRET_PREVIOUS=OLD_HMAC,
        RATE_LIMIT="1000/minute",
    )


def previous_secret_uses(service: Service) -> list[str]:
    lines = (json.loads(line) for line in service.logs().splitlines() if line.startswith("{"))
    used = "webhook.previous_secret_used"
    return [line["credential"] for line in lines if line["event"] == used]


def signed(secret: str, key: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(issue_body(key)).encode()
    return raw, {"x-hub-signature": sign(secret, raw)}


def test_the_new_token_is_accepted_and_nothing_is_logged(service: Service) -> None:
    status, _ = post(service, issue_body("ROT-1"), token=NEW_TOKEN)

    assert status == 202
    assert previous_secret_uses(service) == []


def test_the_previous_token_is_accepted_and_its_use_logged(service: Service) -> None:
    status, _ = post(service, issue_body("ROT-2"), token=OLD_TOKEN)

    assert status == 202
    wait_until(lambda: "token" in previous_secret_uses(service), timeout=10, what="the log line")


def test_the_previous_signing_secret_is_accepted_and_its_use_logged(service: Service) -> None:
    raw, headers = signed(OLD_HMAC, "ROT-3")
    status, _ = post(service, raw, token=None, headers=headers)

    assert status == 202
    wait_until(lambda: "signature" in previous_secret_uses(service), timeout=10, what="log line")


@pytest.mark.parametrize("token", ["", "not-a-secret-we-ever-had-0123"])
def test_any_other_token_is_still_refused(service: Service, token: str) -> None:
    status, _ = post(service, issue_body("ROT-4"), token=token)
    assert status == 401


def test_a_signature_made_with_the_previous_token_is_refused(service: Service) -> None:
    """Each kind of credential is checked against its own secrets only."""
    raw, headers = signed(OLD_TOKEN, "ROT-5")
    status, _ = post(service, raw, token=None, headers=headers)
    assert status == 401
