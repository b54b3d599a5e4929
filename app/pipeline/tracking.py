"""Stage bookkeeping: each stage's start, end, duration, commands and outcome on the run record."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from app import logs
from app.errors import AgentError, AutoCodeError, PipelineError
from app.pipeline.observers import observed_stage
from app.pipeline.runs import RunStatus, utcnow
from app.pipeline.runtime import Runtime
from app.process import CommandResult, command_log

log = logging.getLogger("auto_code.pipeline")


class StageOutcome:
    """Filled in by the stage body: extra fields for the history entry."""

    def __init__(self) -> None:
        self.detail: dict[str, Any] = {}
        self.status = "ok"


@asynccontextmanager
async def tracked_stage(rt: Runtime, run_id: str, name: str) -> AsyncIterator[StageOutcome]:
    """Record the stage on the run; capture every command it runs; turn errors into a record.

    Errors are re-raised as they are: the caller (a DBOS step) converts them into a result dict,
    since a step that raises would have its exception pickled and replayed on recovery.
    """
    started = utcnow()
    clock = time.monotonic()
    commands: list[CommandResult] = []
    token = command_log.set(commands)
    outcome = StageOutcome()

    def start(record: dict[str, Any]) -> None:
        stages = record.setdefault("stages", [])
        if stages and stages[-1]["status"] == "running":
            # The process died in that stage; DBOS is now running it (or the next one) again.
            stages[-1]["status"] = "interrupted"
        stages.append({"name": name, "status": "running", "started_at": started.isoformat()})

    store = rt.store
    run = store.update(run_id, status=RunStatus.RUNNING, stage=name, mutate=start)
    binding = logs.bind(run_id=run_id, ticket=run.ticket, stage=name)
    log.info("stage_started", extra={"run_id": run_id, "ticket": run.ticket, "stage": name})
    error: BaseException | None = None
    try:
        async with observed_stage(rt.observers, run, name):
            yield outcome
    except BaseException as exc:
        error = exc
        outcome.status = "failed"
        raise
    finally:
        command_log.reset(token)
        duration = time.monotonic() - clock

        def finish(record: dict[str, Any]) -> None:
            entry = record["stages"][-1]
            entry.update(
                status=outcome.status,
                finished_at=utcnow().isoformat(),
                duration_s=round(duration, 3),
                commands=[c.to_record() for c in commands],
                **outcome.detail,
            )
            if error is not None:
                entry["error"] = describe_error(error)

        store.update(run_id, mutate=finish)
        log.info(
            "stage_finished",
            extra={
                "run_id": run_id,
                "ticket": run.ticket,
                "stage": name,
                "status": outcome.status,
                "duration_s": duration,
            },
        )
        logs.unbind(binding)


@contextmanager
def run_logs(rt: Runtime, run_id: str) -> Iterator[None]:
    """Give every line logged while the run's workflow runs its run id and ticket key."""
    run = rt.store.get(run_id)
    with logs.bound(run_id=run_id, ticket=run.ticket if run else None):
        yield


def describe_error(error: BaseException) -> dict[str, Any]:
    """A JSON-safe description of an error, for the run record and for step results."""
    if isinstance(error, PipelineError):
        return {
            "stage": error.stage,
            "type": type(error).__name__,
            "message": str(error),
            "output_tail": error.output_tail,
            **({"subtype": error.subtype} if isinstance(error, AgentError) else {}),
        }
    if isinstance(error, AutoCodeError):
        return {"type": type(error).__name__, "message": str(error)}
    return {"type": "InternalError", "message": f"{type(error).__name__}: {error}"}
