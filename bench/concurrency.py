"""Concurrency: 1, 2, 4 and 8 tickets at once, wall time and peak memory of the process tree.

`auto-code serve` with MAX_CONCURRENT_TICKETS=8, the real CLI and the scripted model; each ticket
runs implement, review, lint, test, commit, push and the PR. Memory is sampled every 100 ms over
the service and every process below it (CLI sessions, git, gh, checks): RSS summed, and PSS
(shared pages split between the processes that share them), which is what adding tickets costs.
"""

from __future__ import annotations

import os
import threading
import time

from bench.record import fresh_output, machine, record
from tests.e2e.world import GOOD, Behaviour, make_world, post_ticket, writes
from tests.fakes.processes import tree_memory_kib

SIZES = tuple(int(n) for n in os.environ.get("CONCURRENCY_SIZES", "1,2,4,8").split(","))


class Sampler:
    """Peak RSS and PSS (KiB) of a process tree, sampled in a background thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = (0, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            rss, pss = tree_memory_kib(self.pid)
            self.peak = (max(self.peak[0], rss), max(self.peak[1], pss))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def main() -> None:
    started = machine()
    root = fresh_output("concurrency")
    world = make_world(root)
    service = world.service("service", MAX_CONCURRENT_TICKETS="8").start()
    assert service.proc is not None
    rows = []
    try:
        time.sleep(2)  # let start-up settle before the idle sample
        idle_rss, idle_pss = tree_memory_kib(service.proc.pid)
        for size in SIZES:
            keys = [f"CONC{size}-{n}" for n in range(1, size + 1)]
            for key in keys:
                world.model.add(key, Behaviour(writes(GOOD)))
            with Sampler(service.proc.pid) as sampler:
                start = time.perf_counter()
                run_ids = [post_ticket(service, key)["run_id"] for key in keys]
                finished = [service.wait_for_run(run_id, timeout=600) for run_id in run_ids]
                wall = time.perf_counter() - start
            if {run["status"] for run in finished} != {"succeeded"}:
                raise SystemExit(f"a run did not succeed: {[r.get('error') for r in finished]}")
            rss, pss = sampler.peak
            rows.append(
                [
                    str(size),
                    f"{wall:.1f} s",
                    f"{size / wall * 60:.1f}",
                    mib(rss),
                    mib(pss),
                    mib(max(pss - idle_pss, 0) / size),
                ]
            )
    finally:
        service.stop()
        world.model.server.stop()
    record(
        "Concurrency: tickets at once (real CLI, scripted model)",
        ["tickets", "wall", "tickets/min", "peak RSS (sum)", "peak PSS", "PSS above idle/ticket"],
        rows,
        machine=started,
        notes=(
            f"Idle service: RSS {mib(idle_rss)}, PSS {mib(idle_pss)}. Each ticket: implement + "
            "review (two CLI sessions, one at a time), lint, test, commit, push, PR; "
            "MAX_CONCURRENT_TICKETS=8, QUEUE_POLL_S=0.1."
        ),
    )
