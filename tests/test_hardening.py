"""The service's memory is refused to other processes of its own user (app/hardening.py).

Real processes, all of one unprivileged user (`tests.fakes.users`): `auto-code serve` with a
secret in its environment, a control process holding the same secret that did not mark itself
non-dumpable, and a reader trying both, as a script the agent wrote would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import service_env
from tests.fakes.service import Service
from tests.fakes.users import as_unprivileged, give_to_unprivileged

SECRET = "ghp_hardeningSecret0123456789"
READER = """\
import errno, json, sys
seen = {}
for pid in sys.argv[1:]:
    for name in ("environ", "mem"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as file:
                seen[f"{pid}/{name}"] = file.read().decode() if name == "environ" else "opened"
        except OSError as exc:
            seen[f"{pid}/{name}"] = errno.errorcode[exc.errno]
print(json.dumps(seen))
"""
HOLDER = "import sys; print('ready', flush=True); sys.stdin.read()"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    workspace = tmp_path / "workspace"
    env = service_env(workspace, GH_TOKEN=SECRET)
    give_to_unprivileged(tmp_path)
    service = Service(env, tmp_path / "service.log", prefix=as_unprivileged()).start()
    yield service
    service.stop()


@pytest.fixture
def control() -> Iterator[int]:
    """A process of the same user with the secret in its environment, and no prctl."""
    holder = subprocess.Popen(
        [*as_unprivileged(), sys.executable, "-c", HOLDER],
        env={"GH_TOKEN": SECRET},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
    yield holder.pid
    holder.communicate(timeout=30)


def read_proc(*pids: int) -> dict[str, str]:
    """What a process of the service's user gets from /proc/<pid>/environ and /proc/<pid>/mem."""
    result = subprocess.run(
        [*as_unprivileged(), sys.executable, "-c", READER, *map(str, pids)],
        env={"LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_service_environment_and_memory_are_refused_to_its_own_user(
    service: Service, control: int
) -> None:
    assert service.proc is not None
    pid = service.proc.pid

    seen = read_proc(pid, control)

    assert f"GH_TOKEN={SECRET}" in seen[f"{control}/environ"]
    assert seen[f"{control}/mem"] == "opened"
    assert seen[f"{pid}/environ"] == "EACCES"
    assert seen[f"{pid}/mem"] == "EACCES"
    assert "process_not_dumpable" in service.logs()
    assert "service_running_as_root" not in service.logs()
    # Prometheus' process metrics read /proc/self files, which are root's now: still readable.
    metrics = service.client.get("/metrics").text
    assert "\nprocess_open_fds " in metrics and "\nprocess_resident_memory_bytes " in metrics


def test_start_up_warns_when_the_service_runs_as_root() -> None:
    script = (
        "import ctypes, logging; from app.hardening import forbid_memory_access; "
        "logging.basicConfig(level=logging.INFO, format='%(message)s'); "
        "print(forbid_memory_access(), ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))"  # PR_GET_DUMPABLE
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.split() == ["True", "0"]
    assert ("service_running_as_root" in result.stderr) == (os.geteuid() == 0)
