"""The Jira REST calls write-back makes: comments, remote links, transitions, and who we are.

Jira Cloud is spoken to through REST v3 with basic auth (JIRA_EMAIL + JIRA_API_TOKEN), Data
Center through REST v2 with a bearer personal access token (JIRA_PAT).

Every call has a timeout and bounded retries with exponential backoff and jitter. A 429 or 503
is retried after the `Retry-After` Jira sends (seconds or an HTTP date), unless that is longer
than `max_wait_s`: then the call fails at once rather than hold the caller. Other 5xx answers,
timeouts and connection errors are retried too, but a request that is not idempotent (creating
a comment, transitioning) is retried only when Jira cannot have acted on it (the connection
was never made, or 429/503), so a lost answer never doubles a comment.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from app import __version__
from app.config import Settings

log = logging.getLogger("auto_code.jira")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
NOT_ACTED_ON_STATUSES = frozenset({429, 503})
"""Answers that mean Jira did nothing: safe to repeat even a request that is not idempotent."""
TRANSIENT_4XX = frozenset({408, 409, 425, 429})
MAX_WAIT_S = 60.0
BACKOFF_S = 0.5


class JiraError(Exception):
    """A Jira call that failed.

    `retryable`: repeating the request now is safe and may help. `refused`: Jira answered a
    final no (401, 403, 404, 400, ...); repeating it later will not help either.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable

    @property
    def refused(self) -> bool:
        status = self.status or 0
        return 400 <= status < 500 and status not in TRANSIENT_4XX


class JiraClient:
    """One connection pool to Jira, used from one event loop; close it with `aclose()`."""

    def __init__(
        self,
        *,
        base_url: str,
        api_version: Literal[2, 3],
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = 10.0,
        retries: int = 3,
        backoff_s: float = BACKOFF_S,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        self.api_version = api_version
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s
        self._http = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/rest/api/{api_version}",
            auth=auth,
            headers={
                "Accept": "application/json",
                "User-Agent": f"auto-code/{__version__}",
                **(headers or {}),
            },
            timeout=timeout_s,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> JiraClient:
        assert settings.jira_base_url, "write-back needs JIRA_BASE_URL"
        common: dict[str, Any] = {
            "base_url": settings.jira_base_url,
            "timeout_s": settings.jira_timeout_s,
            "retries": settings.jira_retries,
        }
        if settings.jira_pat is not None:
            token = settings.jira_pat.get_secret_value()
            return cls(api_version=2, headers={"Authorization": f"Bearer {token}"}, **common)
        assert settings.jira_email and settings.jira_api_token, "write-back needs credentials"
        auth = httpx.BasicAuth(settings.jira_email, settings.jira_api_token.get_secret_value())
        return cls(api_version=3, auth=auth, **common)

    async def __aenter__(self) -> JiraClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def myself(self) -> tuple[str, ...]:
        """Every identifier of the account we act as: accountId (Cloud), name and key (DC)."""
        user = await self._request("GET", "/myself")
        user = user if isinstance(user, dict) else {}
        return tuple(str(user[k]) for k in ("accountId", "name", "key") if user.get(k))

    async def add_comment(self, key: str, body: object) -> str:
        """Create a comment; its id. `body` is ADF (v3) or wiki markup (v2)."""
        created = await self._request(
            "POST", f"/issue/{key}/comment", json={"body": body}, idempotent=False
        )
        if not isinstance(created, dict) or not created.get("id"):
            raise JiraError(f"POST /issue/{key}/comment answered without a comment id")
        return str(created["id"])

    async def update_comment(self, key: str, comment_id: str, body: object) -> None:
        # Cloud notifies watchers of every edit unless told not to; the progress edits are many.
        params = {"notifyUsers": "false"} if self.api_version == 3 else None
        await self._request(
            "PUT", f"/issue/{key}/comment/{comment_id}", json={"body": body}, params=params
        )

    async def recent_comments(self, key: str) -> list[dict[str, Any]]:
        """The issue's latest comments, newest first (at most 100)."""
        page = await self._request(
            "GET", f"/issue/{key}/comment", params={"orderBy": "-created", "maxResults": "100"}
        )
        comments = page.get("comments") if isinstance(page, dict) else None
        return [c for c in comments or [] if isinstance(c, dict)]

    async def put_remote_link(self, key: str, link: dict[str, Any]) -> dict[str, Any]:
        """Create the remote link, or update the one with the same `globalId`."""
        answer = await self._request("POST", f"/issue/{key}/remotelink", json=link)
        return answer if isinstance(answer, dict) else {}

    async def transitions(self, key: str) -> list[dict[str, Any]]:
        """The transitions the issue offers us now."""
        answer = await self._request("GET", f"/issue/{key}/transitions")
        found = answer.get("transitions") if isinstance(answer, dict) else None
        return [t for t in found or [] if isinstance(t, dict)]

    async def transition(self, key: str, transition_id: str) -> None:
        await self._request(
            "POST",
            f"/issue/{key}/transitions",
            json={"transition": {"id": transition_id}},
            idempotent=False,
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: dict[str, str] | None = None,
        idempotent: bool = True,
    ) -> Any:
        what = f"{method} {path}"
        attempt = 0
        while True:
            wait: float | None = None
            try:
                response = await self._http.request(method, path, json=json, params=params)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error = JiraError(f"{what}: cannot connect to Jira ({exc!r})", retryable=True)
            except httpx.TimeoutException:
                timeout = self._http.timeout.read
                error = JiraError(f"{what}: no answer within {timeout}s", retryable=idempotent)
            except httpx.TransportError as exc:
                error = JiraError(f"{what}: connection failed ({exc!r})", retryable=idempotent)
            else:
                if response.is_success:
                    return response.json() if response.content else None
                status = response.status_code
                retryable = status in (RETRY_STATUSES if idempotent else NOT_ACTED_ON_STATUSES)
                error = JiraError(
                    f"{what}: {status} {_problem(response)}".rstrip(),
                    status=status,
                    retryable=retryable,
                )
                wait = retry_after(response)
            if not error.retryable or attempt >= self.retries:
                raise error
            if wait is None:
                wait = self.backoff_s * 2**attempt * (1 + secrets.randbelow(1000) / 1000)
            if wait > self.max_wait_s:
                raise JiraError(f"{error} (Jira asks to wait {wait:.0f}s)", status=error.status)
            attempt += 1
            log.info(
                "jira_retry",
                extra={
                    "request": what,
                    "attempt": attempt,
                    "wait_s": round(wait, 2),
                    "error": str(error),
                },
            )
            await asyncio.sleep(wait)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a `Retry-After` header (a number or an HTTP date), if any."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _problem(response: httpx.Response) -> str:
    """Jira's own words for an error answer (`errorMessages`, `errors`), kept short."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if not isinstance(body, dict):
        return response.reason_phrase
    messages = [str(m) for m in body.get("errorMessages") or [] if m]
    errors = body.get("errors")
    if isinstance(errors, dict):
        messages += [f"{field}: {message}" for field, message in errors.items()]
    text = "; ".join(messages) or response.reason_phrase
    return text if len(text) <= 300 else text[:299] + "…"
