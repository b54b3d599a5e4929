"""The HTTP edge under generated requests, over HTTP to the real server.

Schemathesis calls every operation of the service's own OpenAPI schema (the webhook and the
cancel with valid credentials, runs, health, readiness) with generated data: no answer may be a
5xx, and every answer must be documented (status code, content type) and match its schema. Below
it, what the fuzzing found, pinned down.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import service_env
from tests.fakes.service import Service

TOKEN = "fuzz-webhook-token-0123456789"
HMAC_SECRET = "fuzz-hmac-secret"
ADMIN_TOKEN = "fuzz-admin-token-0123456789"
FUZZ_SETTINGS = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workspace = tmp_path_factory.mktemp("fuzz")
    # The HTTP edge is under test: the runs the fuzzing creates stay queued (a poll a minute).
    env = service_env(
        workspace,
        WEBHOOK_SECRET=TOKEN,
        JIRA_WEBHOOK_HMAC_SECRET=HMAC_SECRET,
        ADMIN_TOKEN=ADMIN_TOKEN,
        RATE_LIMIT="100000/minute",
        QUEUE_POLL_S="60",
    )
    service = Service(env, Path(workspace) / "service.log").start()
    yield service
    service.stop()


def test_every_operation_answers_as_documented(service: Service) -> None:
    schema = schemathesis.openapi.from_url(f"{service.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "POST /webhook/jira",
        "GET /runs",
        "GET /runs/{run_id}",
        "POST /runs/{run_id}/cancel",
        "GET /health",
        "GET /ready",
    }
    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @FUZZ_SETTINGS
        @given(case=cases)
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=service.base_url,
                headers={"x-webhook-token": TOKEN, "authorization": f"Bearer {ADMIN_TOKEN}"},
                checks=CHECKS,
            )

        answers_as_documented()


def test_a_body_nested_deeper_than_json_can_parse_is_a_400(service: Service) -> None:
    """`[[[[...]]]]` well within MAX_BODY_BYTES made `json.loads` raise RecursionError, which the
    handler did not expect: the answer was a 500, and Jira retries a 5xx again and again."""
    body = b"[" * 100_000 + b"]" * 100_000
    headers = {"x-webhook-token": TOKEN, "content-type": "application/json"}
    response = service.client.post("/webhook/jira", content=body, headers=headers)

    assert response.status_code == 400
    assert response.json() == {"detail": "body is not valid JSON: nested too deeply"}


def test_a_signature_with_non_ascii_bytes_is_a_401(service: Service) -> None:
    """Header bytes >= 0x80 reach the app as latin-1 text, and `hmac.compare_digest` raises
    TypeError on str with non-ASCII characters: with an HMAC secret configured, such an
    `X-Hub-Signature` was a 500 (retried by Jira) instead of a 401."""
    headers = {"x-hub-signature": "sha256=\xe9t\xe9".encode("latin-1")}
    response = service.client.post("/webhook/jira", content=b"{}", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"detail": "invalid webhook credentials"}
