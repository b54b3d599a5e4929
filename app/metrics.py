"""Prometheus metrics: runs by outcome, stage durations, queue depth, active runs, agent cost.

The counters and the histogram belong to this process: they start at zero with it, as
Prometheus expects of counters. Queue depth and active runs are read from the run store at each
scrape, so they count every run in the database, whichever process accepted or executes it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import Counter, Gauge, Histogram, generate_latest

from app.pipeline.runs import Run, RunStatus, RunStore

RUNS = Counter("auto_code_runs", "Runs that reached a terminal status, by outcome.", ["outcome"])
STAGE_SECONDS = Histogram(
    "auto_code_stage_duration_seconds",
    "How long each stage took; fix rounds and repeated gates count under their stage.",
    ["stage"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
QUEUED = Gauge("auto_code_queued_runs", "Runs accepted and waiting for a worker.")
ACTIVE = Gauge("auto_code_active_runs", "Runs being worked on.")
COST = Counter("auto_code_agent_cost_usd", "Claude cost of the runs that ended, in US dollars.")

for _status in RunStatus:
    if _status.terminal:
        RUNS.labels(_status.value)


def stage_kind(name: str) -> str:
    """`review#1` → `review`, `fix_lint#2` → `fix_lint`: one series per kind of stage."""
    return name.split("#", 1)[0]


class RunMetrics:
    """The run observer that feeds the counters and the histogram."""

    @asynccontextmanager
    async def stage(self, run: Run, name: str) -> AsyncIterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            STAGE_SECONDS.labels(stage_kind(name)).observe(time.monotonic() - started)

    async def run_finished(self, run: Run) -> None:
        RUNS.labels(run.status.value).inc()
        COST.inc(float(run.record.get("cost_usd", 0.0)))


def exposition(store: RunStore) -> bytes:
    """The metrics in Prometheus' text format, queue depth and active runs read now."""
    unfinished = store.unfinished()
    QUEUED.set(sum(run.status == RunStatus.QUEUED for run in unfinished))
    ACTIVE.set(sum(run.status == RunStatus.RUNNING for run in unfinished))
    return generate_latest()
