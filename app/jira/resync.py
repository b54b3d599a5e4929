"""Which ended runs write-back offers again at start-up, so their ticket shows how they ended.

A run's final write can be lost: the service stopped (or was killed) while it was pending, or
Jira was down past the client's retries when the run ended or was cancelled. The run record's
`jira` section says so: `synced` is not the run's final status, or `failed` names what the
latest sync could not do. Writes are idempotent (the comment is edited by the id on the record,
the remote link is keyed by a global id, a transition on the record is not made again), so
offering such a run again only catches up.

Only runs with a `jira` section (write-back was on for them) that ended within
`RESYNC_WINDOW` are offered, at most `RESYNC_MAX_RUNS` of them, the latest first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.pipeline.runs import ACTIVE, Run, RunStore, runs_table

RESYNC_WINDOW = timedelta(days=7)
"""Runs that ended longer ago are left as they are: their ticket has moved on."""
RESYNC_MAX_RUNS = 100
"""At most this many runs per start-up; they are written one after another."""


def needs_resync(status: str, jira: dict[str, Any] | None) -> bool:
    """Whether an ended run's `jira` section shows a final write that did not happen."""
    if not jira:
        return False
    return jira.get("synced") != status or bool(jira.get("failed"))


def runs_to_resync(store: RunStore, now: datetime) -> list[Run]:
    """The ended runs whose final write-back is missing (see the module docstring)."""
    since = now - RESYNC_WINDOW
    t = runs_table
    query = sa.select(
        t.c.id,
        t.c.status,
        t.c.updated_at,
        t.c.record["jira"].label("jira"),
        t.c.record["finished_at"].as_string().label("finished_at"),
    ).where(t.c.status.not_in(ACTIVE), t.c.updated_at >= since)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    due: list[tuple[datetime, str]] = []
    for row in rows:
        ended = _ended(row.finished_at, row.updated_at)
        if ended >= since and needs_resync(row.status, row.jira):
            due.append((ended, row.id))
    due.sort(reverse=True)
    runs = (store.get(run_id) for _, run_id in due[:RESYNC_MAX_RUNS])
    return [run for run in runs if run is not None]


def _ended(finished_at: str | None, updated_at: datetime) -> datetime:
    when = datetime.fromisoformat(finished_at) if finished_at else updated_at
    return when if when.tzinfo else when.replace(tzinfo=UTC)
