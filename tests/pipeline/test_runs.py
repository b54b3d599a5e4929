"""The run store on real SQLite: one run per delivery, one active run per ticket."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.pipeline.runs import RunStatus, RunStore
from app.ticket import Ticket


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    yield store
    store.close()


def ticket(key: str = "PROJ-1") -> Ticket:
    return Ticket(key=key, summary="Add a greeting")


def test_a_delivery_maps_to_one_run_forever(store: RunStore) -> None:
    first = store.admit(ticket(), delivery_id="d-1", trigger="custom")
    store.update(first.run.id, status=RunStatus.SUCCEEDED)
    again = store.admit(ticket(), delivery_id="d-1", trigger="custom")
    assert first.created and not again.created
    assert again.run.id == first.run.id


def test_an_active_ticket_is_not_admitted_twice(store: RunStore) -> None:
    first = store.admit(ticket(), delivery_id="d-1", trigger="custom")
    second = store.admit(ticket(), delivery_id="d-2", trigger="custom")
    assert second.run.id == first.run.id
    assert "active" in second.reason
    retried = store.admit(ticket(), delivery_id="d-2", trigger="custom")
    assert retried.run.id == first.run.id


def test_an_ended_ticket_runs_again(store: RunStore) -> None:
    first = store.admit(ticket(), delivery_id=None, trigger="cli")
    store.update(first.run.id, status=RunStatus.FAILED)
    second = store.admit(ticket(), delivery_id=None, trigger="cli")
    assert second.created
    assert [r.id for r in store.list(ticket="PROJ-1")] == [second.run.id, first.run.id]


def test_concurrent_deliveries_for_one_ticket_make_one_run(store: RunStore) -> None:
    with ThreadPoolExecutor(8) as pool:
        admissions = list(
            pool.map(
                lambda n: store.admit(ticket(), delivery_id=f"d-{n}", trigger="custom"), range(40)
            )
        )
    assert sum(a.created for a in admissions) == 1
    assert len({a.run.id for a in admissions}) == 1
    assert len(store.list(ticket="PROJ-1")) == 1


def test_record_updates_merge_and_mutate(store: RunStore) -> None:
    run = store.admit(ticket(), delivery_id=None, trigger="cli").run
    store.update(run.id, status=RunStatus.RUNNING, stage="implement", session_id="s-1")
    updated = store.update(run.id, mutate=lambda r: r.setdefault("stages", []).append({"n": 1}))
    assert updated.status == RunStatus.RUNNING
    assert updated.stage == "implement"
    assert updated.record["session_id"] == "s-1"
    assert updated.record["stages"] == [{"n": 1}]
    assert updated.job == ticket()
    assert [r.id for r in store.unfinished()] == [run.id]


def test_a_cancelled_run_keeps_its_status_and_frees_its_ticket(store: RunStore) -> None:
    run = store.admit(ticket(), delivery_id="d-1", trigger="custom").run
    store.update(run.id, status=RunStatus.RUNNING, stage="implement")

    cancelled, changed = store.cancel(run.id, error={"type": "Cancelled"})
    later = store.update(run.id, status=RunStatus.SUCCEEDED, stage="done", finished_at="x")
    again, changed_again = store.cancel(run.id, error={"type": "Other"})

    assert changed and cancelled is not None and cancelled.status == RunStatus.CANCELLED
    assert later.status == RunStatus.CANCELLED, "a step that ends later changes no status"
    assert later.record["error"] == {"type": "Cancelled"} and later.record["finished_at"] == "x"
    assert (
        not changed_again and again is not None and again.record["error"] == {"type": "Cancelled"}
    )
    assert store.unfinished() == []
    assert store.admit(ticket(), delivery_id="d-2", trigger="custom").created


def test_a_run_that_has_ended_is_not_cancelled(store: RunStore) -> None:
    run = store.admit(ticket(), delivery_id="d-1", trigger="custom").run
    store.update(run.id, status=RunStatus.FAILED, error={"type": "AgentError"})

    ended, changed = store.cancel(run.id, error={"type": "Cancelled"})

    assert not changed and ended is not None and ended.status == RunStatus.FAILED
    assert ended.record["error"] == {"type": "AgentError"}
    assert store.cancel("run_unknown", error={}) == (None, False)
