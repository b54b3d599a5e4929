"""A retry storm: Jira re-sends each delivery several times, for many tickets, all at once.

Every ticket must get exactly one run and one durable workflow, and every re-sent delivery must
be answered with the run its first sending created.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import defaultdict
from pathlib import Path

import httpx

from tests.e2e.world import WEBHOOK_TOKEN, World
from tests.fakes.service import Service

TICKETS = [f"STORM-{n}" for n in range(1, 21)]
DELIVERIES_PER_TICKET = 5
SENDS_PER_DELIVERY = 5
CONCURRENCY = 50


async def storm(service: Service, sends: list[tuple[str, str]]) -> list[tuple[str, str, dict]]:
    """POST every (ticket, delivery) with at most CONCURRENCY in flight; the answers."""
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY)

    async with httpx.AsyncClient(base_url=service.base_url, timeout=60, limits=limits) as client:

        async def send(key: str, delivery: str) -> tuple[str, str, dict]:
            body = {"issue": {"key": key, "fields": {"summary": f"Storm {key}"}}}
            headers = {
                "x-webhook-token": WEBHOOK_TOKEN,
                "x-atlassian-webhook-identifier": delivery,
            }
            async with gate:
                response = await client.post("/webhook/jira", json=body, headers=headers)
            assert response.status_code == 202, (key, delivery, response.text)
            return key, delivery, response.json()

        return await asyncio.gather(*(send(key, delivery) for key, delivery in sends))


def workflows(workspace: Path) -> list[str]:
    """The ids of the durable workflows DBOS holds (read-only, beside the running service)."""
    database = workspace / "auto-code.sqlite"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as conn:
        return [row[0] for row in conn.execute("SELECT workflow_uuid FROM workflow_status")]


def test_500_deliveries_for_20_tickets_make_exactly_20_runs(world: World) -> None:
    sends = [
        (key, f"{key}-delivery-{d}")
        for key in TICKETS
        for d in range(DELIVERIES_PER_TICKET)
        for _ in range(SENDS_PER_DELIVERY)
    ]
    random.Random(5).shuffle(sends)
    # No run may end during the storm, or a later new delivery would rightly start a second run:
    # the queue is polled once a minute, so every run stays queued until the storm is over.
    service = world.service("storm", RATE_LIMIT="100000/minute", QUEUE_POLL_S="60").start()
    workspace = Path(service.env["WORKSPACE_DIR"])
    try:
        answers = asyncio.run(storm(service, sends))
        runs = service.client.get("/runs", params={"limit": 500}).json()["runs"]
        durable = workflows(workspace)
    finally:
        service.stop()

    assert len(answers) == 500
    by_delivery: dict[str, set[str]] = defaultdict(set)
    by_ticket: dict[str, set[str]] = defaultdict(set)
    for key, delivery, answer in answers:
        assert answer["ticket"] == key
        by_delivery[delivery].add(answer["run_id"])
        by_ticket[key].add(answer["run_id"])
    assert all(len(ids) == 1 for ids in by_delivery.values()), "a delivery mapped to two runs"
    assert all(len(ids) == 1 for ids in by_ticket.values()), "a ticket got two runs"
    assert sum(not answer["duplicate"] for _, _, answer in answers) == len(TICKETS)
    assert sorted(run["ticket"] for run in runs) == sorted(TICKETS)
    assert sorted(durable) == sorted(run["run_id"] for run in runs)
    assert {run["status"] for run in runs} == {"queued"}
