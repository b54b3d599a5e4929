"""Cancelling a run on the operator's word: its workflow, its agent, its record, in that order.

1. DBOS marks the workflow cancelled: a queued run is taken off the queue and never starts, a
   running one stops at its next step boundary, and neither is recovered after a restart.
2. The step in progress may be a Claude session that would run for many minutes: every process
   of the run's sessions carries the run's tag (`RUN_TAG_ENV`) and is killed, so the step ends
   now (with a CLI error that no later step sees).
3. The run record becomes `cancelled`, checked and set in one transaction: a run that ended
   meanwhile keeps its outcome. Nothing sets another status afterwards (`RunStore.update`), so
   the ticket accepts a new run at once. The worktree is kept: a re-run continues it.
"""

from __future__ import annotations

import asyncio
import logging

from dbos import DBOS

from app.agent.warm_client import RUN_TAG_ENV
from app.pipeline.observers import notify_finished
from app.pipeline.runs import Run, utcnow
from app.pipeline.runtime import Runtime
from app.process import kill_tagged

log = logging.getLogger("auto_code.pipeline")

CANCELLED_ERROR = {"type": "Cancelled", "message": "cancelled by the operator"}


async def cancel_run(rt: Runtime, run_id: str) -> tuple[Run | None, bool]:
    """Cancel the run if it is active; returns it (None if there is none) and whether this call
    cancelled it (False: it had already ended, with the status it shows)."""
    run = await asyncio.to_thread(rt.store.get, run_id)
    if run is None or run.status.terminal:
        return run, False
    await DBOS.cancel_workflow_async(run_id)
    killed = await asyncio.to_thread(kill_tagged, RUN_TAG_ENV, run_id)
    run, cancelled = await asyncio.to_thread(
        rt.store.cancel, run_id, error=CANCELLED_ERROR, finished_at=utcnow().isoformat()
    )
    if run is None or not cancelled:
        return run, False
    log.info(
        "run_cancelled",
        extra={"run_id": run_id, "ticket": run.ticket, "stage": run.stage, "killed": killed},
    )
    await notify_finished(rt.observers, run)
    return run, True
