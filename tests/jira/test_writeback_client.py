"""The Jira REST client against a local server playing Jira: auth, versions, errors and retries."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from app.config import Settings
from app.jira.client import JiraClient, JiraError, retry_after
from app.pipeline.runs import utcnow
from tests.fakes import jira_server
from tests.fakes.jira_server import JiraServer
from tests.fakes.service import free_port

DOC = {"type": "doc", "version": 1, "content": []}


def cloud(jira: JiraServer, **overrides: object) -> JiraClient:
    settings = Settings(jira_base_url=jira.url, **jira.cloud_env(), **overrides)  # type: ignore[arg-type]
    return JiraClient.from_settings(settings)


def fast(jira: JiraServer, **kwargs: object) -> JiraClient:
    """A Cloud client with quick backoff (the retry tests are about counts, not waiting)."""
    options: dict = {"timeout_s": 5.0, "retries": 2, "backoff_s": 0.01, **kwargs}
    auth = httpx.BasicAuth(jira_server.EMAIL, jira_server.API_TOKEN)
    return JiraClient(base_url=jira.url, api_version=3, auth=auth, **options)


async def test_cloud_uses_v3_basic_auth_and_edits_without_notifying(jira: JiraServer) -> None:
    async with cloud(jira) as client:
        comment_id = await client.add_comment("PROJ-1", DOC)
        await client.update_comment("PROJ-1", comment_id, DOC)
        assert await client.myself() == (jira_server.BOT_ACCOUNT_ID,)

    first, second, _ = jira.requests
    assert (first["method"], first["version"], first["route"]) == (
        "POST",
        3,
        "/issue/PROJ-1/comment",
    )
    assert first["auth"] == "basic" and first["authorized"]
    assert second["route"] == f"/issue/PROJ-1/comment/{comment_id}"
    assert second["query"] == {"notifyUsers": "false"}
    assert [c["versions"] for c in jira.comments("PROJ-1")] == [[DOC, DOC]]


async def test_data_center_uses_v2_and_a_bearer_token(jira: JiraServer) -> None:
    settings = Settings(jira_base_url=jira.url, **jira.datacenter_env())  # type: ignore[arg-type]
    async with JiraClient.from_settings(settings) as client:
        comment_id = await client.add_comment("PROJ-2", "h1. hello")
        await client.update_comment("PROJ-2", comment_id, "hello again")
        assert await client.myself() == (jira_server.BOT_NAME, "JIRAUSER10100")

    assert [(r["version"], r["auth"], r["query"]) for r in jira.requests[:2]] == [
        (2, "bearer", {}),
        (2, "bearer", {}),
    ]
    assert jira.comments("PROJ-2")[0]["versions"] == ["h1. hello", "hello again"]


async def test_wrong_credentials_are_a_final_401(jira: JiraServer) -> None:
    client = JiraClient(
        base_url=jira.url, api_version=3, auth=httpx.BasicAuth(jira_server.EMAIL, "wrong")
    )
    async with client:
        with pytest.raises(JiraError) as raised:
            await client.add_comment("PROJ-1", DOC)

    assert raised.value.status == 401 and raised.value.refused
    assert "not authenticated" in str(raised.value)
    assert len(jira.requests) == 1
    assert "wrong" not in str(raised.value)


@pytest.mark.parametrize("status", [403, 404, 400])
async def test_refusals_are_not_retried(jira: JiraServer, status: int) -> None:
    jira.fault("/issue/NO-1/", status=status)
    async with fast(jira) as client:
        with pytest.raises(JiraError) as raised:
            await client.transitions("NO-1")

    assert raised.value.status == status and raised.value.refused
    assert len(jira.requests) == 1


async def test_429_is_retried_after_the_retry_after_jira_sends(jira: JiraServer) -> None:
    jira.fault("POST /issue/BUSY-1/comment", status=429, times=2, headers={"Retry-After": "0"})
    # With a backoff this long the test would hang: only Retry-After can make it retry at once.
    async with asyncio.timeout(30), fast(jira, backoff_s=1000.0, max_wait_s=2000.0) as client:
        comment_id = await client.add_comment("BUSY-1", DOC)

    assert [r["route"] for r in jira.requests] == ["/issue/BUSY-1/comment"] * 3
    assert [c["id"] for c in jira.comments("BUSY-1")] == [comment_id]


async def test_a_retry_after_longer_than_we_wait_fails_at_once(jira: JiraServer) -> None:
    jira.fault("/issue/BUSY-2/", status=429, headers={"Retry-After": "3600"})
    async with asyncio.timeout(30), fast(jira, max_wait_s=60.0) as client:
        with pytest.raises(JiraError) as raised:
            await client.transitions("BUSY-2")

    assert "asks to wait 3600s" in str(raised.value)
    assert not raised.value.refused
    assert len(jira.requests) == 1


async def test_retries_are_bounded(jira: JiraServer) -> None:
    jira.fault("/issue/FLAKY-1/", status=502)
    async with fast(jira, retries=3) as client:
        with pytest.raises(JiraError) as raised:
            await client.transitions("FLAKY-1")

    assert raised.value.status == 502 and not raised.value.refused
    assert len(jira.requests) == 4


async def test_a_comment_is_never_posted_twice_on_an_ambiguous_failure(jira: JiraServer) -> None:
    """A 500 or a dropped connection may come after Jira created the comment: no blind retry."""
    jira.fault("POST /issue/AMB-1/comment", status=500, times=1)
    jira.fault("POST /issue/AMB-2/comment", drop=True, times=1)
    async with fast(jira) as client:
        for key in ("AMB-1", "AMB-2"):
            with pytest.raises(JiraError) as raised:
                await client.add_comment(key, DOC)
            assert raised.value.retryable is False and raised.value.refused is False

    assert len(jira.requests) == 2


async def test_a_dropped_connection_is_retried_for_an_idempotent_call(jira: JiraServer) -> None:
    jira.fault("PUT /issue/DROP-1/comment/", drop=True, times=1)
    async with fast(jira) as client:
        comment_id = await client.add_comment("DROP-1", DOC)
        await client.update_comment("DROP-1", comment_id, {**DOC, "content": []})

    assert [r["method"] for r in jira.requests] == ["POST", "PUT", "PUT"]


async def test_no_answer_within_the_timeout_is_an_error(jira: JiraServer) -> None:
    jira.fault("/issue/SLOW-1/", hold=True)
    async with fast(jira, timeout_s=0.3, retries=1) as client:
        with pytest.raises(JiraError) as raised:
            await client.transitions("SLOW-1")

    assert "no answer within 0.3s" in str(raised.value)
    assert len(jira.requests) == 2


async def test_jira_down_is_an_error_after_the_retries() -> None:
    client = JiraClient(
        base_url=f"http://127.0.0.1:{free_port()}", api_version=3, retries=2, backoff_s=0.01
    )
    async with client:
        with pytest.raises(JiraError) as raised:
            await client.myself()

    assert "cannot connect to Jira" in str(raised.value) and raised.value.retryable


def test_retry_after_reads_seconds_and_http_dates() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    later = format_datetime(utcnow().replace(microsecond=0) + timedelta(seconds=90), usegmt=True)
    assert retry_after(answer("7")) == 7.0
    assert 60 < (retry_after(answer(later)) or 0) <= 90
    assert retry_after(answer("soon")) is None
    assert retry_after(httpx.Response(429)) is None
