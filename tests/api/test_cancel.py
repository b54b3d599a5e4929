"""POST /runs/{run_id}/cancel through a real server: who may cancel, and what cannot be.

The runs here target a repository that does not exist, so they fail at their first stage: a
cancel then finds them ended (409). Cancelling runs that work is in tests/e2e/test_cancel.py.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import TOKEN
from tests.conftest import issue_body
from tests.fakes.service import Service

ADMIN_TOKEN = "admin-token-for-tests-0123"


@pytest.fixture(scope="module")
def service(start_service) -> Service:
    return start_service(WEBHOOK_SECRET=TOKEN, ADMIN_TOKEN=ADMIN_TOKEN)


def cancel(service: Service, run_id: str, authorization: str | None) -> tuple[int, dict]:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = service.client.post(f"/runs/{run_id}/cancel", headers=headers)
    return response.status_code, response.json()


def test_without_admin_token_cancelling_is_refused(start_service) -> None:
    closed = start_service(WEBHOOK_SECRET=TOKEN)
    for authorization in (None, "Bearer x", f"Bearer {ADMIN_TOKEN}"):
        status, body = cancel(closed, "run_0123456789abcdef", authorization)
        assert status == 403
        assert "set ADMIN_TOKEN" in body["detail"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token-wrong-token",
        f"Bearer {ADMIN_TOKEN}x",
        f"Basic {ADMIN_TOKEN}",
        ADMIN_TOKEN,
        "Bearer \u00e9t\u00e9-not-ascii",
    ],
)
def test_missing_or_wrong_token_is_401_before_the_run_is_looked_up(
    service: Service, authorization: str | None
) -> None:
    response = service.client.post(
        "/runs/run_0123456789abcdef/cancel",
        headers={"Authorization": authorization.encode("latin-1")} if authorization else {},
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "ADMIN_TOKEN" in response.json()["detail"]


def test_unknown_run_is_404(service: Service) -> None:
    status, body = cancel(service, "run_0123456789abcdef", f"Bearer {ADMIN_TOKEN}")

    assert status == 404
    assert body == {"detail": "no run run_0123456789abcdef"}


def test_a_run_that_has_ended_is_409_with_its_status(service: Service) -> None:
    posted = service.client.post(
        "/webhook/jira", json=issue_body("CANCEL-1"), headers={"x-webhook-token": TOKEN}
    )
    run_id = posted.json()["run_id"]
    ended = service.wait_for_run(run_id, timeout=120)
    assert ended["status"] == "failed", "the repository does not exist"

    status, body = cancel(service, run_id, f"bearer {ADMIN_TOKEN}")

    assert status == 409
    assert body == {"detail": f"run {run_id} has already ended", "status": "failed"}
    assert service.run(run_id)["status"] == "failed"
