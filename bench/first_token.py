"""First token: from the 202 (or the start of setup) to the first request at the model.

Two measurements, both with the real bundled Claude CLI against the scripted model server:

- through the service: POST a ticket to `auto-code serve`, time from its 202 to the first
  request of the implementation session at the model, with the queue poll at its default; the
  run record splits that into queue pickup, workspace (fetch + worktree), setup, and the CLI;
- warm against cold, in this process, with the same functions the stages call: a warm start
  starts the CLI (`sessions.start_warm`) before the target's setup command and hands it to
  `sessions.implement`; a cold start runs the setup command first and then starts the CLI.
  With no setup command and with one that takes SETUP_S (a dependency install).
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime
from pathlib import Path

from app import checks
from app.agent import AgentLimits, sessions
from bench.record import fresh_output, machine, median, ms, record
from tests.e2e.world import GOOD, Behaviour, make_world, post_ticket, writes
from tests.fakes.git_repos import git, make_origin
from tests.fakes.model_server import ModelRequest, ModelServer, Reply, text
from tests.fakes.service import wait_until

REPEAT = int(os.environ.get("FIRST_TOKEN_REPEAT", "5"))
SETUP_S = 2.0


class Arrivals:
    """A model that notes when each conversation's first request arrives, then says Done."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.server = ModelServer(self.answer)

    def answer(self, request: ModelRequest) -> Reply:
        if self.first is None:
            self.first = time.perf_counter()
        return text("Done.")


async def one_start(
    model: Arrivals, worktree: Path, home: Path, *, warm: bool, setup_s: float
) -> float:
    env = {**model.server.cli_env(home)}
    limits = AgentLimits(max_turns=2, timeout_s=120)
    setup = ("python3", "-c", f"import time; time.sleep({setup_s})") if setup_s else ()
    config = checks.RepoConfig(commands={"setup": setup})
    model.first = None
    start = time.perf_counter()
    started = await sessions.start_warm(worktree, limits, env) if warm else None
    await checks.run_setup(config, cwd=worktree, env=os.environ, timeout_s=60)
    await sessions.implement("Say done.", worktree=worktree, limits=limits, env=env, warm=started)
    assert model.first is not None
    return model.first - start


def in_process(root: Path) -> dict[tuple[str, float], list[float]]:
    origin = make_origin(root, {"README.md": "# widgets\n"})
    worktree = root / "worktree"
    git("clone", "--quiet", str(origin), str(worktree), cwd=root)
    home = root / "home"
    home.mkdir()
    model = Arrivals()
    model.server.start()
    results: dict[tuple[str, float], list[float]] = {}
    try:
        for setup_s in (0.0, SETUP_S):
            for _ in range(REPEAT):
                for mode in ("warm", "cold"):
                    first = asyncio.run(
                        one_start(model, worktree, home, warm=mode == "warm", setup_s=setup_s)
                    )
                    results.setdefault((mode, setup_s), []).append(first)
    finally:
        model.server.stop()
    return results


def through_the_service(root: Path) -> tuple[list[float], dict[str, list[float]]]:
    world = make_world(root)
    arrived: dict[str, float] = {}
    answer = world.model.answer

    def noting(request: ModelRequest) -> Reply:
        key = world.model.key_of(request)
        if key and key not in arrived:
            arrived[key] = time.perf_counter()
        return answer(request)

    world.model.server.script = noting
    service = world.service("service", QUEUE_POLL_S="1.0").start()
    firsts: list[float] = []
    parts: dict[str, list[float]] = {}
    try:
        for n in range(1, REPEAT + 1):
            key = f"FIRST-{n}"
            world.model.add(key, Behaviour(writes(GOOD)))
            run_id = post_ticket(service, key)["run_id"]
            acked = time.perf_counter()
            wait_until(lambda key=key: key in arrived, timeout=120, what=f"{key} at the model")
            firsts.append(arrived[key] - acked)
            run = service.wait_for_run(run_id)
            stages = {stage["name"]: stage for stage in run["stages"]}
            created = datetime.fromisoformat(run["created_at"])
            pickup = datetime.fromisoformat(stages["workspace"]["started_at"]) - created
            parts.setdefault("queue pickup", []).append(pickup.total_seconds())
            parts.setdefault("workspace", []).append(stages["workspace"]["duration_s"])
            parts.setdefault("setup", []).append(stages["setup"]["duration_s"])
    finally:
        service.stop()
        world.model.server.stop()
    return firsts, parts


def main() -> None:
    started = machine()
    root = fresh_output("first_token")
    measured = in_process(root / "in-process")
    firsts, parts = through_the_service(root / "service")

    rows = [
        [
            f"in process, setup command {setup_s:g} s",
            ms(median(measured[("warm", setup_s)])),
            ms(median(measured[("cold", setup_s)])),
            ms(median(measured[("cold", setup_s)]) - median(measured[("warm", setup_s)])),
        ]
        for setup_s in (0.0, SETUP_S)
    ]
    breakdown = ", ".join(f"{name} {ms(median(values))}" for name, values in parts.items())
    rows.append(["service: 202 → first request (warm, as shipped)", ms(median(firsts)), "", ""])
    record(
        "First token: to the first request at the model (real CLI, scripted model)",
        ["path", f"warm (median of {REPEAT})", "cold", "saved by warm"],
        rows,
        machine=started,
        notes=(
            f"Through the service, medians of the run record: {breakdown}; the rest is the CLI "
            "starting (overlapped with setup) and sending its first request. The queue is polled "
            "every QUEUE_POLL_S (default 1 s), which bounds the pickup."
        ),
    )
