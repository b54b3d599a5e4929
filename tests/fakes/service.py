"""The real service, started as `auto-code serve` in a child process on a loopback port.

Tests talk to it over HTTP like Jira would, and can SIGKILL it and start it again on the same
workspace and database to prove that accepted runs survive a crash.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import httpx

from tests.fakes.processes import kill_tree

T = TypeVar("T")

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    predicate: Callable[[], T | None], *, timeout: float, interval: float = 0.05, what: str = "it"
) -> T:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Service:
    """One `auto-code serve` process; `env` is its whole environment (nothing inherited).

    `prefix` is a command it runs under, e.g. `tests.fakes.users.as_unprivileged()`.
    """

    def __init__(
        self, env: Mapping[str, str], log_path: Path, *, prefix: Sequence[str] = ()
    ) -> None:
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        self.log_path = log_path
        self.prefix = list(prefix)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.base_url, timeout=30)

    def start(self, timeout: float = 60) -> Service:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [*self.prefix, str(VENV_BIN / "auto-code"), "serve"],
            env=self.env,
            cwd=self.env.get("WORKSPACE_DIR", "."),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until(self._healthy, timeout=timeout, what=f"service health ({self.log_path})")
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"service exited {self.proc.returncode}:\n{self.logs()[-4000:]}")
        try:
            return self.client.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL the service and every process it started (the agent's CLI, git, gh, checks).

        Like a container or cgroup kill: commands in sessions of their own die too.
        """
        if self.proc is None:
            return
        kill_tree(self.proc.pid)
        self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited; release the HTTP client."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None
        self.client.close()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def run(self, run_id: str) -> dict:
        response = self.client.get(f"/runs/{run_id}")
        response.raise_for_status()
        return response.json()

    def wait_for_run(self, run_id: str, *, timeout: float = 180) -> dict:
        """Poll the run until it has ended; return its final record."""

        def ended() -> dict | None:
            run = self.run(run_id)
            return run if run["status"] not in ("queued", "running") else None

        return wait_until(ended, timeout=timeout, interval=0.2, what=f"run {run_id} to end")
