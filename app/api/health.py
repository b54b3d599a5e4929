"""GET /health (the process answers) and GET /ready (it can do its work)."""

from __future__ import annotations

import os
import shutil

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.api.deps import SettingsDep, StoreDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process is up and serving."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "A check failed; see `checks`."}})
async def ready(settings: SettingsDep, store: StoreDep) -> JSONResponse:
    """Readiness: database reachable, workspace writable, git and gh on PATH."""
    checks: dict[str, str] = {}
    try:
        await run_in_threadpool(store.ping)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    workspace = settings.workspace
    checks["workspace"] = (
        "ok"
        if workspace.is_dir() and os.access(workspace, os.W_OK)
        else f"not writable: {workspace}"
    )
    for tool in ("git", "gh"):
        checks[tool] = "ok" if shutil.which(tool) else "not found on PATH"
    ok = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503
    )
