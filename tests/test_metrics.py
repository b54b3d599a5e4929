"""Prometheus metrics from the run observer and the run store, read back from the exposition."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import RunMetrics, exposition, stage_kind
from app.pipeline.runs import RunStatus, RunStore
from app.ticket import Ticket


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    yield store
    store.close()


def sample(store: RunStore, name: str, missing: float | None = None, **labels: str) -> float:
    """A sample of the exposition; `missing` if given and there is none (a series not yet seen)."""
    for family in text_string_to_metric_families(exposition(store).decode()):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    if missing is None:
        raise AssertionError(f"no sample {name}{labels}")
    return missing


def admit(store: RunStore, key: str) -> str:
    return store.admit(
        Ticket(key=key, summary="Add a greeting"), delivery_id=None, trigger="cli"
    ).run.id


def test_queue_depth_and_active_runs_come_from_the_store(store: RunStore) -> None:
    first, _second = admit(store, "PROJ-1"), admit(store, "PROJ-2")
    assert sample(store, "auto_code_queued_runs") == 2
    assert sample(store, "auto_code_active_runs") == 0
    store.update(first, status=RunStatus.RUNNING, stage="implement")
    assert sample(store, "auto_code_queued_runs") == 1
    assert sample(store, "auto_code_active_runs") == 1
    store.update(first, status=RunStatus.SUCCEEDED)
    assert sample(store, "auto_code_active_runs") == 0


async def test_stages_are_timed_under_their_kind_even_when_they_fail(store: RunStore) -> None:
    run = store.get(admit(store, "PROJ-3"))
    assert run is not None
    observer = RunMetrics()
    before = sample(store, "auto_code_stage_duration_seconds_count", 0, stage="fix_lint")
    async with observer.stage(run, "fix_lint#1"):
        pass
    with pytest.raises(RuntimeError):
        async with observer.stage(run, "fix_lint#2"):
            raise RuntimeError("the stage failed")
    after = sample(store, "auto_code_stage_duration_seconds_count", stage="fix_lint")
    assert after - before == 2


async def test_an_ended_run_counts_under_its_outcome_with_its_cost(store: RunStore) -> None:
    run_id = admit(store, "PROJ-4")
    failed = sample(store, "auto_code_runs_total", outcome="failed")
    cost = sample(store, "auto_code_agent_cost_usd_total")
    run = store.update(run_id, status=RunStatus.FAILED, cost_usd=0.25)
    await RunMetrics().run_finished(run)
    assert sample(store, "auto_code_runs_total", outcome="failed") == failed + 1
    assert sample(store, "auto_code_agent_cost_usd_total") == pytest.approx(cost + 0.25)
    assert sample(store, "auto_code_runs_total", outcome="no_changes") >= 0, "outcomes all show"


def test_stage_kind_drops_the_attempt_number() -> None:
    assert [stage_kind(n) for n in ("review", "review#1", "fix_test#2")] == [
        "review",
        "review",
        "fix_test",
    ]
