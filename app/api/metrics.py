"""GET /metrics: Prometheus metrics of the runs (see `app.metrics`)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST

from app import metrics
from app.api.deps import StoreDep

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def prometheus_metrics(store: StoreDep) -> Response:
    """Runs by outcome, stage durations, queue depth, active runs, agent cost."""
    body = await run_in_threadpool(metrics.exposition, store)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
