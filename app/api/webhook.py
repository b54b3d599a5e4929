"""POST /webhook/jira: verify, decide, persist, enqueue, answer. Nothing else happens here."""

from __future__ import annotations

import hashlib
import json
import logging

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.api.auth import authenticate
from app.api.deps import QueueDep, SettingsDep, StoreDep
from app.api.schemas import Accepted, Ignored, Problem
from app.errors import PayloadError
from app.jira import IgnoredEvent, decide, parse_event
from app.pipeline import queue
from app.pipeline.runs import RunStatus
from app.ticket import KEY_PATTERN

log = logging.getLogger("auto_code.webhook")

DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
MAX_DELIVERY_ID = 200
"""The width of the deliveries table's key column."""

RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"model": Ignored, "description": "The event was understood and deliberately ignored."},
    202: {"model": Accepted, "description": "A run is queued (or already exists) for the ticket."},
    400: {"model": Problem, "description": "The body is not JSON."},
    401: {"model": Problem, "description": "Missing or wrong X-Webhook-Token / X-Hub-Signature."},
    413: {"model": Problem, "description": "The body is larger than MAX_BODY_BYTES."},
    422: {"model": Problem, "description": "The body is not a usable ticket; `field` says why."},
    429: {"model": Problem, "description": "Rate limited; see Retry-After."},
}


REQUEST_BODY: dict[str, object] = {
    "required": True,
    "description": (
        "A Jira issue event: a system webhook, an Automation 'Send web request' body, or this "
        "minimum. Authenticate with `X-Webhook-Token` or `X-Hub-Signature`; Jira's "
        "`X-Atlassian-Webhook-Identifier` makes a retried delivery map to its first run."
    ),
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "webhookEvent": {"type": "string", "example": "jira:issue_created"},
                    "issue": {
                        "type": "object",
                        "required": ["key", "fields"],
                        "properties": {
                            "key": {"type": "string", "pattern": KEY_PATTERN.pattern},
                            "fields": {
                                "type": "object",
                                "required": ["summary"],
                                "properties": {
                                    "summary": {"type": "string", "minLength": 1},
                                    "description": {
                                        "description": "Wiki markup (a string), ADF, or null."
                                    },
                                    "labels": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
            }
        }
    },
}
"""The body as OpenAPI documents it (the handler reads the raw body: HMAC is over its bytes)."""


def problem(status: int, detail: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(Problem(detail=detail, field=field).model_dump(exclude_none=True), status)


def delivery_id(header: str | None) -> str | None:
    """The delivery identifier as stored: one longer than its column is kept as its digest."""
    if not header:
        return None
    if len(header) <= MAX_DELIVERY_ID:
        return header
    return "sha256:" + hashlib.sha256(header.encode()).hexdigest()


async def read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None when it exceeds `limit` bytes (checked before and while reading)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def receive_jira_webhook(
    request: Request, settings: SettingsDep, store: StoreDep, tickets: QueueDep
) -> JSONResponse:
    """Accept a Jira issue event and queue a run for its ticket (answers at once)."""
    body = await read_body(request, settings.max_body_bytes)
    if body is None:
        return problem(413, f"body larger than {settings.max_body_bytes} bytes")
    refusal = authenticate(
        settings,
        body,
        request.headers.get("x-webhook-token"),
        request.headers.get("x-hub-signature"),
    )
    if refusal:
        log.warning("webhook_unauthorized", extra={"reason": refusal})
        return problem(401, refusal)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return problem(400, f"body is not valid JSON: {exc}")
    except RecursionError:  # `[[[[...` within MAX_BODY_BYTES: no Jira body nests that deep
        return problem(400, "body is not valid JSON: nested too deeply")
    try:
        # Converting a large wiki or ADF description takes a while: keep it off the event loop.
        event = await run_in_threadpool(parse_event, payload, jira_base_url=settings.jira_base_url)
    except IgnoredEvent as ignored:
        log.debug("webhook_ignored", extra={"reason": ignored.reason})
        return JSONResponse(Ignored(reason=ignored.reason).model_dump(), 200)
    except PayloadError as exc:
        return problem(422, exc.message, exc.field)

    decision = decide(
        event,
        trigger_label=settings.trigger_label,
        allowed_projects=settings.allowed_projects,
        ignore_account_ids=settings.ignore_account_ids,
    )
    if not decision.run:
        log.info("webhook_ignored", extra={"ticket": event.ticket.key, "reason": decision.reason})
        return JSONResponse(Ignored(reason=decision.reason).model_dump(), 200)

    delivery = delivery_id(request.headers.get(DELIVERY_HEADER))
    admission = await run_in_threadpool(
        store.admit, event.ticket, delivery_id=delivery, trigger=event.event
    )
    run = admission.run
    if run.status == RunStatus.QUEUED:
        # Also for a duplicate: enqueueing is idempotent, and a retry heals an enqueue that failed.
        await queue.enqueue(tickets, run)
    log.info(
        "webhook_accepted",
        extra={
            "run_id": run.id,
            "ticket": run.ticket,
            "new_run": admission.created,
            "reason": admission.reason,
        },
    )
    accepted = Accepted(
        run_id=run.id,
        ticket=run.ticket,
        status=run.status.value,
        status_url=str(request.url_for("get_run", run_id=run.id)),
        duplicate=not admission.created,
        reason=admission.reason or None,
    )
    return JSONResponse(accepted.model_dump(exclude_none=True), 202)
