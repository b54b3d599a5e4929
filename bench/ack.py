"""Ack latency: a burst of webhooks against the real service and against a bare 202 endpoint.

2,000 deliveries of a real Jira Cloud `issue_created` body, 10% of them re-sent (same
`X-Atlassian-Webhook-Identifier`), 50 in flight at a time, over loopback. The real service runs
as in production (`auto-code serve`, SQLite, the DBOS queue, access logs) with the rate limit
raised; its queue is polled once a minute, so no pipeline work starts during the burst (the runs
stay queued: only the acknowledgement is measured). The bare endpoint is FastAPI under the same
uvicorn, answering 202 without reading anything. Target: p99 within 3x of the bare endpoint.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.record import OUT, machine, median, ms, percentile, record
from tests.fakes.service import Service, free_port, wait_until

REQUESTS = int(os.environ.get("ACK_REQUESTS", "2000"))
DUPLICATE_SHARE = 0.10
CONCURRENCY = 50
ROUNDS = int(os.environ.get("ACK_ROUNDS", "3"))
TOKEN = "bench-webhook-token-0123456789"  # noqa: S105 (a throwaway for the benchmark)
SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "jira"
SAMPLE_BODY = SAMPLE / "cloud-issue_created-many-fields.json"


def deliveries() -> list[tuple[str, bytes]]:
    """(delivery id, body) for the burst: distinct tickets, plus re-sends of some of them."""
    template = json.loads(SAMPLE_BODY.read_text())
    distinct = REQUESTS - round(REQUESTS * DUPLICATE_SHARE)
    sends = []
    for n in range(1, distinct + 1):
        body = json.loads(json.dumps(template))
        body["issue"]["key"] = f"ACK-{n}"
        body["issue"]["fields"]["summary"] = f"Burst ticket {n}"
        sends.append((f"delivery-{n}", json.dumps(body).encode()))
    rng = random.Random(7)
    sends += rng.choices(sends, k=REQUESTS - distinct)
    rng.shuffle(sends)
    return sends


async def burst(
    base_url: str, sends: list[tuple[str, bytes]]
) -> tuple[list[float], float, list[str], set[str]]:
    """Latencies of every POST (s), the wall time of the whole burst, what went wrong, and the
    deliveries that were acknowledged."""
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in sends:
        queue.put_nowait(item)
    latencies: list[float] = []
    errors: list[str] = []
    acked: set[str] = set()
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:
        for _ in range(100):  # open the connections and warm both ends
            await client.get("/health")

        async def worker() -> None:
            while not queue.empty():
                delivery, body = queue.get_nowait()
                headers = {
                    "content-type": "application/json",
                    "x-webhook-token": TOKEN,
                    "x-atlassian-webhook-identifier": delivery,
                }
                start = time.perf_counter()
                try:
                    response = await client.post("/webhook/jira", content=body, headers=headers)
                except httpx.TransportError as exc:
                    errors.append(f"{type(exc).__name__} after {time.perf_counter() - start:.1f}s")
                    continue
                latencies.append(time.perf_counter() - start)
                if response.status_code == 202:
                    acked.add(delivery)
                else:
                    errors.append(f"{response.status_code}: {response.text[:200]}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - start
    return latencies, wall, errors, acked


def real_service(workspace: Path) -> Service:
    shutil.rmtree(workspace, ignore_errors=True)
    (workspace / "home").mkdir(parents=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(workspace / "home"),
        "LANG": "C.UTF-8",
        "WORKSPACE_DIR": str(workspace),
        "REPO_URL": str(workspace / "no-such-origin.git"),
        "WEBHOOK_SECRET": TOKEN,
        "RATE_LIMIT": "1000000/minute",
        "QUEUE_POLL_S": "60",
        "DRY_RUN": "true",
    }
    return Service(env, workspace / "service.log").start()


class BareServer:
    """`uvicorn bench.bare_app:app` in a child process on a loopback port."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(self.port)]
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, cwd=Path(__file__).resolve().parents[1], stdout=log, stderr=log
            )
        wait_until(self._up, timeout=60, what="the bare endpoint")

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/docs", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def counts(workspace: Path) -> tuple[int, int, int]:
    """(runs, distinct tickets with a run, DBOS workflows) in the service's database."""
    database = workspace / "auto-code.sqlite"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        runs, tickets = conn.execute(
            "SELECT count(*), count(DISTINCT ticket) FROM auto_code_runs"
        ).fetchone()
        (workflows,) = conn.execute("SELECT count(*) FROM workflow_status").fetchone()
    return runs, tickets, workflows


def summary(latencies: list[float], wall: float) -> list[str]:
    return [
        ms(percentile(latencies, 0.50)),
        ms(percentile(latencies, 0.99)),
        ms(max(latencies)),
        f"{len(latencies) / wall:.0f}/s",
    ]


def main() -> None:
    started = machine()
    sends = deliveries()
    distinct = len({delivery for delivery, _ in sends})
    root = OUT / "ack"
    root.mkdir(parents=True, exist_ok=True)
    rows, ratios, failures, counted = [], [], [], []
    # Alternate the two, ROUNDS times: on a shared machine the noise moves both together.
    for round_ in range(1, ROUNDS + 1):
        bare = BareServer(root / "bare.log")
        try:
            bare_latencies, bare_wall, bare_errors, _ = asyncio.run(burst(bare.base_url, sends))
        finally:
            bare.stop()
        workspace = root / "service"
        service = real_service(workspace)
        try:
            latencies, wall, errors, acked = asyncio.run(burst(service.base_url, sends))
        finally:
            service.stop()
        counted.append((*counts(workspace), len(acked)))
        ratios.append(percentile(latencies, 0.99) / percentile(bare_latencies, 0.99))
        failures.append(f"{len(bare_errors)} / {len(errors)} {sorted(set(errors))[:3]}")
        rows.append([str(round_), "bare FastAPI 202", *summary(bare_latencies, bare_wall), ""])
        rows.append([str(round_), "auto-code", *summary(latencies, wall), f"{ratios[-1]:.2f}x"])

    record(
        f"Ack latency: {len(sends)} webhooks, {DUPLICATE_SHARE:.0%} re-sent, {CONCURRENCY} "
        "in flight",
        ["round", "endpoint", "p50", "p99", "max", "throughput", "p99 / bare"],
        rows,
        machine=started,
        notes=(
            f"Median p99 ratio auto-code / bare: **{median(ratios):.2f}x** (target ≤ 3x).\n"
            "Runs created, tickets with a run, DBOS workflows, distinct deliveries answered 202, "
            f"per round (all four must be equal): {counted}; distinct deliveries sent: "
            f"{distinct}. A delivery not answered 202 is one Jira sends again.\n"
            "auto-code: `auto-code serve` on SQLite with the DBOS queue, access logs on; queue "
            "polled once a minute (QUEUE_POLL_S=60), so no run starts during the burst.\n"
            f"Failed requests (bare / auto-code) per round: {failures}."
        ),
    )
    if any(len(set(round_counts)) != 1 for round_counts in counted):
        raise SystemExit("runs created do not match the deliveries acknowledged")
