"""GET /runs and GET /runs/{run_id}: what each run is doing and what came of it; and
POST /runs/{run_id}/cancel, for the operator (a bearer token: ADMIN_TOKEN)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.auth import token_valid
from app.api.deps import RuntimeDep, SettingsDep, StoreDep
from app.api.schemas import Problem, RunEnded, RunList, RunView
from app.pipeline import cancel
from app.pipeline.runs import RunStatus

router = APIRouter(tags=["runs"])
bearer = HTTPBearer(auto_error=False, description="the ADMIN_TOKEN setting")


async def operator(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Let only the operator through: `Authorization: Bearer <ADMIN_TOKEN>`, compared in
    constant time. Without ADMIN_TOKEN the operator's endpoints are closed, in every
    environment: unlike the webhook, they must never be open."""
    if settings.admin_token is None:
        raise HTTPException(403, "operator endpoints are disabled: set ADMIN_TOKEN to use them")
    if credentials is None or not token_valid(
        settings.admin_token.get_secret_value(), credentials.credentials
    ):
        raise HTTPException(
            401,
            "missing or invalid Authorization: Bearer <ADMIN_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )


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


@router.post(
    "/runs/{run_id}/cancel",
    response_model=RunView,
    dependencies=[Depends(operator)],
    responses={
        401: {"model": Problem, "description": "Missing or wrong `Authorization: Bearer` token."},
        403: {"model": Problem, "description": "ADMIN_TOKEN is not set: cancelling is off."},
        404: {"model": Problem, "description": "No run has this id."},
        409: {"model": RunEnded, "description": "The run has already ended, with `status`."},
    },
)
async def cancel_run(run_id: str, runtime: RuntimeDep) -> RunView | JSONResponse:
    """Stop a queued or running run: its workflow is cancelled, its agent's processes are
    killed, and it ends `cancelled` at once, so the ticket accepts a new run. Its worktree is
    kept: a new run of the ticket continues from it."""
    run, cancelled = await cancel.cancel_run(runtime, run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id}")
    if not cancelled:
        ended = RunEnded(detail=f"run {run_id} has already ended", status=run.status.value)
        return JSONResponse(ended.model_dump(exclude_none=True), status_code=409)
    return RunView.of(run)
