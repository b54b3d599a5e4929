"""DBOS set-up: the durable queue that holds every accepted run until it has ended.

A run's DBOS workflow id is its run id, so enqueueing the same run twice is a no-op, and the
queue is partitioned by ticket key, so one ticket never has two runs executing at once.
"""

from __future__ import annotations

import logging

from dbos import DBOS, Queue, SetEnqueueOptions, SetWorkflowID

from app import __version__
from app.config import Settings
from app.pipeline.runs import Run, RunStore
from app.pipeline.workflow import run_ticket

log = logging.getLogger("auto_code.queue")

QUEUE_NAME = "tickets"


def launch(settings: Settings) -> None:
    """Start DBOS on the configured database; unfinished runs of this version resume now.

    The application version is pinned to the release, not DBOS's default hash of the code:
    workflows are recovered only by the same version, and a hash would change with any edit.
    """
    DBOS(
        config={
            "name": "auto-code",
            "system_database_url": settings.effective_database_url,
            "application_version": f"auto-code-{__version__}",
            "log_level": settings.log_level,
        }
    )
    DBOS.launch()


def shutdown() -> None:
    DBOS.destroy(destroy_registry=False)


async def register(settings: Settings) -> Queue:
    return await DBOS.register_queue_async(
        QUEUE_NAME,
        worker_concurrency=settings.max_concurrent_tickets,
        partition_concurrency=1,
        polling_interval_sec=settings.queue_poll_s,
        on_conflict="always_update",
    )


async def enqueue(queue: Queue, run: Run) -> None:
    with SetWorkflowID(run.id), SetEnqueueOptions(queue_partition_key=run.ticket):
        await queue.enqueue_async(run_ticket, run.id)


async def enqueue_unfinished(queue: Queue, store: RunStore) -> int:
    """Re-offer every queued or running run; those DBOS already has are left as they are.

    Closes the gap between writing a run and enqueueing it: a crash there leaves a queued run
    that DBOS never saw, and this picks it up at the next start.
    """
    runs = store.unfinished()
    for run in runs:
        await enqueue(queue, run)
    return len(runs)
