"""GET /runs and GET /runs/{run_id}: what each run is doing and what came of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from app.api.deps import StoreDep
from app.api.schemas import Problem, RunList, RunView
from app.pipeline.runs import RunStatus

router = APIRouter(tags=["runs"])


@router.get("/runs", response_model=RunList)
async def list_runs(
    store: StoreDep,
    ticket: Annotated[str | None, Query(max_length=120)] = None,
    status: RunStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RunList:
    """Runs, newest first; filter by ticket key or status."""
    runs = await run_in_threadpool(
        store.list, ticket=ticket, status=status.value if status else None, limit=limit
    )
    return RunList(runs=[RunView.of(run) for run in runs])


@router.get(
    "/runs/{run_id}",
    response_model=RunView,
    name="get_run",
    responses={404: {"model": Problem, "description": "No run has this id."}},
)
async def get_run(run_id: str, store: StoreDep) -> RunView:
    """One run: status, current stage, stage history, gates, session, cost, PR."""
    run = await run_in_threadpool(store.get, run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id}")
    return RunView.of(run)
