"""GET /metrics and the JSON log lines of runs, through the real service and the real CLI.

One service works one ticket at a time; the first ticket's agent is held, so the second waits in
the queue. The metrics are scraped then, and again when both runs have ended.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.world import GOOD, Behaviour, World, make_world, post_ticket, writes
from tests.fakes.service import Service, wait_until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class Scenario:
    while_held: Samples
    at_end: Samples
    runs: dict[str, dict]
    """Ticket key → the run's final record."""
    log_lines: list[dict]


def scrape(service: Service) -> Samples:
    response = service.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    world: World = make_world(tmp_path_factory.mktemp("metrics"))
    hold = threading.Event()
    world.model.add("METRIC-1", Behaviour(writes(GOOD), hold=hold))
    world.model.add("METRIC-2", Behaviour(writes(GOOD)))
    service = world.service("metrics", MAX_CONCURRENT_TICKETS="1").start()
    try:
        first = post_ticket(service, "METRIC-1")["run_id"]
        wait_until(lambda: world.model.requests_of("METRIC-1"), timeout=60, what="the agent")
        second = post_ticket(service, "METRIC-2")["run_id"]
        while_held = scrape(service)
        hold.set()
        runs = {"METRIC-1": service.wait_for_run(first), "METRIC-2": service.wait_for_run(second)}
        at_end = scrape(service)
    finally:
        hold.set()
        service.stop()
        world.model.server.stop()
    lines = [json.loads(line) for line in service.logs().splitlines()]
    yield Scenario(while_held, at_end, runs, lines)


def test_metrics_show_queue_depth_and_active_runs_while_a_run_works(scenario: Scenario) -> None:
    assert value(scenario.while_held, "auto_code_active_runs") == 1
    assert value(scenario.while_held, "auto_code_queued_runs") == 1
    assert value(scenario.while_held, "auto_code_runs_total", outcome="succeeded") == 0


def test_metrics_count_outcomes_stage_durations_and_cost_when_runs_end(
    scenario: Scenario,
) -> None:
    end = scenario.at_end
    assert [run["status"] for run in scenario.runs.values()] == ["succeeded", "succeeded"]
    assert value(end, "auto_code_active_runs") == 0
    assert value(end, "auto_code_queued_runs") == 0
    assert value(end, "auto_code_runs_total", outcome="succeeded") == 2
    assert value(end, "auto_code_runs_total", outcome="failed") == 0
    cost = sum(run["cost_usd"] for run in scenario.runs.values())
    assert cost > 0
    assert value(end, "auto_code_agent_cost_usd_total") == pytest.approx(cost)
    for stage in ("workspace", "implement", "review", "lint", "test", "pull_request"):
        assert value(end, "auto_code_stage_duration_seconds_count", stage=stage) == 2, stage
        assert value(end, "auto_code_stage_duration_seconds_sum", stage=stage) > 0


def test_every_log_line_is_json_and_a_runs_lines_carry_its_id_ticket_and_stage(
    scenario: Scenario,
) -> None:
    lines = scenario.log_lines
    assert any(line["logger"] == "dbos" for line in lines), "DBOS logs in JSON too"
    for ticket, run in scenario.runs.items():
        of_run = [line for line in lines if line.get("run_id") == run["run_id"]]
        assert {line["ticket"] for line in of_run} == {ticket}
        assert {line["stage"] for line in of_run} - {None} >= {"workspace", "implement", "review"}
        assert {line["stage"] for line in of_run} <= {s["name"] for s in run["stages"]} | {None}
        # The agent module logs a session's end without any of these fields: it still has them.
        ended = [line for line in of_run if line["event"] == "agent.session_ended"]
        assert [(line["ticket"], line["stage"]) for line in ended] == [
            (ticket, "implement"),
            (ticket, "review"),
        ]
        assert ended[0]["session_id"] == run["session_id"]
    ended = [line for line in lines if line["event"] == "agent.session_ended"]
    assert len(ended) == 4, "every session's line belongs to its run"
