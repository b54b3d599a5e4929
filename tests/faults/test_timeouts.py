"""Things that never answer: the model, the target's test command, the git remote.

Each must end the run with an error that names the limit it hit, and take down every process
it started, grandchildren included (each test looks for a sleeper with a marker of its own).
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.world import GOOD, Behaviour, World, post_ticket, world_fixture, writes
from tests.fakes.model_server import HANG, Reply, bash
from tests.fakes.processes import kill_mentioning, processes_mentioning
from tests.fakes.service import Service, wait_until
from tests.faults.conftest import FAULT_FILES

MARKER = f"auto-code-fault-{uuid.uuid4().hex[:12]}"
"""In the command line of every sleeper these tests start, so only ours are looked for."""

HANGING_TEST = (
    "import pathlib, subprocess, sys, time\n"
    "if any('HANGME' in p.read_text() for p in pathlib.Path('src').glob('*.py')):\n"
    "    sleeper = 'import time; time.sleep(600)'\n"
    f"    subprocess.Popen([sys.executable, '-c', sleeper, '{MARKER}-test'])\n"
    "    time.sleep(600)\n"
    "print('1 passed')\n"
)
AGENT_TIMEOUT_S = 10
CHECK_TIMEOUT_S = 3
GIT_TIMEOUT_S = 3


world = world_fixture("timeouts", files={**FAULT_FILES, "checks/test.py": HANGING_TEST})


@pytest.fixture(scope="module")
def service(world: World) -> Iterator[Service]:
    service = world.service(
        "timeouts",
        AGENT_TIMEOUT_S=str(AGENT_TIMEOUT_S),
        CHECK_TIMEOUT_S=str(CHECK_TIMEOUT_S),
        MAX_FIX_ROUNDS="0",
    ).start()
    yield service
    service.stop()


@pytest.fixture(autouse=True)
def _no_sleeper_outlives_the_module() -> Iterator[None]:
    yield
    kill_mentioning(MARKER)


def no_process_left(marker: str) -> None:
    wait_until(
        lambda: not processes_mentioning(marker),
        timeout=10,
        what=f"no process left: {processes_mentioning(marker)}",
    )


def starts_a_sleeper_then_hangs(_worktree: Path, step: int) -> Reply:
    if step == 0:
        sleeper = f"import time; time.sleep(600) # {MARKER}-agent"
        return bash(f'nohup python3 -c "{sleeper}" >/dev/null 2>&1 &')
    return HANG


def test_a_model_that_never_answers_fails_the_run_at_agent_timeout(
    world: World, service: Service
) -> None:
    """The session times out and its CLI is stopped. What the agent had started with
    `nohup ... &` used to live on: the CLI gives each Bash command a session of its own, so
    stopping the CLI did not reach it, and every such run left a process behind for good."""
    world.model.add("HANG-1", Behaviour(starts_a_sleeper_then_hangs))
    run = service.wait_for_run(post_ticket(service, "HANG-1")["run_id"], timeout=120)

    # The second request proves the agent's Bash tool started the sleeper before the hang.
    assert len(world.model.requests_of("HANG-1")) == 2
    assert run["status"] == "failed"
    assert run["error"]["type"] == "AgentError"
    assert run["error"]["message"] == f"Claude session timed out after {AGENT_TIMEOUT_S}s"
    assert run["stages"][-1]["name"] == "implement"
    no_process_left(f"{MARKER}-agent")


def test_a_test_command_that_hangs_is_killed_at_check_timeout(
    world: World, service: Service
) -> None:
    world.model.add("HANG-2", Behaviour(writes(GOOD + "# HANGME\n")))
    run = service.wait_for_run(post_ticket(service, "HANG-2")["run_id"], timeout=120)

    # A gate that fails is not an error: with no fix round left the PR is a draft that says why.
    assert run["status"] == "gates_failing"
    assert run["failing_gates"] == ["test"]
    test = run["gates"]["test"]
    assert test["exit_code"] == -9
    assert f"test timed out after {CHECK_TIMEOUT_S}s and was killed" in test["output_tail"]
    no_process_left(f"{MARKER}-test")


@pytest.fixture
def silent_remote() -> Iterator[str]:
    """An HTTP git remote that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)  # so that the accepting thread sees `done`
    done = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not done.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/acme/{MARKER}.git"
    done.set()
    thread.join(timeout=10)
    for conn in [server, *held]:
        conn.close()


def test_a_git_remote_that_hangs_fails_the_run_at_git_timeout(
    world: World, silent_remote: str
) -> None:
    world.model.add("HANG-3", Behaviour(writes(GOOD)))
    service = world.service(
        "silent-remote", REPO_URL=silent_remote, GIT_TIMEOUT_S=str(GIT_TIMEOUT_S)
    ).start()
    try:
        run = service.wait_for_run(post_ticket(service, "HANG-3")["run_id"], timeout=120)
    finally:
        service.stop()

    assert run["status"] == "failed"
    assert run["error"]["stage"] == "workspace"
    message = run["error"]["message"]
    assert message.startswith("clone of REPO_URL failed")
    assert "timed out after" in message
    assert not world.model.requests_of("HANG-3")
    no_process_left(silent_remote)
