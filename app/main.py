"""The application: `create_app()` for the HTTP service and the `auto-code` command line."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address

from app import __version__
from app.api import health, metrics, runs, webhook
from app.config import Settings, load_settings
from app.observability import build_observers
from app.pipeline import queue, runtime
from app.pipeline.observers import catch_up_observers, close_observers
from app.pipeline.runs import RunStore
from app.workspace import Workspace

log = logging.getLogger("auto_code")


@asynccontextmanager
async def pipeline_running(settings: Settings) -> AsyncIterator[runtime.Runtime]:
    """Open the run store, install the runtime, start DBOS and the queue; undo it all on exit.

    Unfinished runs resume here: DBOS recovers the workflows it had started, and runs that were
    written but never enqueued are enqueued now. Observers catch up in the background (Jira
    write-back: the final comment of runs that ended while it could not be written).
    """
    settings.workspace.mkdir(parents=True, exist_ok=True)
    store = await run_in_threadpool(
        RunStore, settings.effective_database_url, secret_values=settings.secret_values()
    )
    rt = runtime.Runtime(
        settings=settings,
        store=store,
        workspace=Workspace.from_settings(settings),
        observers=build_observers(settings, store),
    )
    runtime.install(rt)
    try:
        stale = await run_in_threadpool(rt.workspace.clear_stale_locks)
        if stale:
            log.warning("workspace_stale_locks_removed", extra={"paths": stale})
        await run_in_threadpool(queue.launch, settings)
        rt.queue = await queue.register(settings)
        resumed = await queue.enqueue_unfinished(rt.queue, store)
        catch_up_observers(rt.observers)
        log.info(
            "pipeline_started", extra={"unfinished_runs": resumed, "dry_run": settings.is_dry_run}
        )
        yield rt
    finally:
        await close_observers(rt.observers)
        await run_in_threadpool(queue.shutdown)
        runtime.install(None)
        store.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.webhook_open:
            log.warning(
                "webhook_unauthenticated",
                extra={"detail": "no WEBHOOK_SECRET or JIRA_WEBHOOK_HMAC_SECRET: anyone can post"},
            )
        if not (settings.anthropic_api_key or settings.claude_code_oauth_token):
            log.warning(
                "claude_credentials_missing",
                extra={
                    "detail": "no ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN: the agent "
                    "relies on a Claude login in this user's ~/.claude"
                },
            )
        async with pipeline_running(settings) as rt:
            app.state.store = rt.store
            app.state.queue = rt.queue
            app.state.runtime = rt
            yield

    app = FastAPI(title="auto-code", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
    app.state.limiter = limiter
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]
    app.add_api_route(
        "/webhook/jira",
        limiter.limit(settings.rate_limit)(webhook.receive_jira_webhook),
        methods=["POST"],
        status_code=202,
        responses=webhook.RESPONSES,
        openapi_extra={"requestBody": webhook.REQUEST_BODY},
        tags=["webhook"],
    )
    app.include_router(runs.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app
