"""Which ended runs write-back offers again at start-up (`app.jira.resync`), from a real store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.jira.resync import RESYNC_MAX_RUNS, runs_to_resync
from app.pipeline.runs import RunStatus, RunStore, utcnow
from app.ticket import Ticket


def ended(
    store: RunStore, key: str, status: RunStatus, jira: dict[str, Any] | None, *, days_ago: float
) -> str:
    """A run of `key` that ended `days_ago` with `status` and the `jira` section given."""
    run = store.admit(Ticket(key=key, summary="s"), delivery_id=None, trigger="cli").run
    fields: dict[str, Any] = {"finished_at": (utcnow() - timedelta(days=days_ago)).isoformat()}
    if jira is not None:
        fields["jira"] = jira
    store.update(run.id, status=status, stage="done", **fields)
    return run.id


def test_ended_runs_whose_final_write_is_missing_are_offered_latest_first(
    store: RunStore,
) -> None:
    killed = ended(store, "RS-1", RunStatus.SUCCEEDED, {"synced": "running:commit"}, days_ago=2)
    refused = ended(
        store, "RS-2", RunStatus.FAILED, {"synced": "failed", "failed": ["comment"]}, days_ago=0.5
    )
    cancelled = ended(store, "RS-3", RunStatus.CANCELLED, {"synced": "running:x"}, days_ago=0.1)
    ended(store, "RS-4", RunStatus.SUCCEEDED, {"synced": "succeeded"}, days_ago=0.1)
    ended(store, "RS-5", RunStatus.NO_CHANGES, None, days_ago=0.1)  # write-back was off
    ended(store, "RS-6", RunStatus.SUCCEEDED, {"synced": "running:commit"}, days_ago=8)
    active = store.admit(Ticket(key="RS-7", summary="s"), delivery_id=None, trigger="cli").run
    store.update(active.id, status=RunStatus.RUNNING, jira={"synced": "running:implement"})

    offered = runs_to_resync(store, utcnow())

    assert [run.id for run in offered] == [cancelled, refused, killed]
    assert offered[0].record["jira"] == {"synced": "running:x"}


def test_at_most_the_latest_hundred_are_offered(store: RunStore) -> None:
    ids = [
        ended(store, f"MAX-{n + 1}", RunStatus.FAILED, {"synced": "running:x"}, days_ago=n / 100)
        for n in range(RESYNC_MAX_RUNS + 1)
    ]

    offered = runs_to_resync(store, utcnow())

    assert [run.id for run in offered] == ids[:RESYNC_MAX_RUNS]
