"""Sessions run the real bundled CLI against the scripted model server, in a real worktree."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.agent import AgentLimits
from tests.fakes.git_repos import git, make_repo
from tests.fakes.model_server import ModelServer

CLI_SUFFIX = "/_bundled/claude"


def cli_children() -> list[int]:
    """Pids of bundled Claude CLI processes that are children of this test process."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv0 = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:  # the process ended while we looked
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and argv0.endswith(CLI_SUFFIX):
            pids.append(int(entry))
    return pids


def wait_for_no_cli(timeout_s: float = 15) -> list[int]:
    """Poll until no CLI child is left; return the ones still there at the deadline."""
    deadline = time.monotonic() + timeout_s
    while (left := cli_children()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture(autouse=True)
def no_cli_left_behind() -> Iterator[None]:
    yield
    assert wait_for_no_cli() == [], "a Claude CLI process outlived its test"


@pytest.fixture
def model() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture
def env(model: ModelServer, tmp_path: Path) -> dict[str, str]:
    """What the pipeline passes as the credential, plus the fake API and a throwaway HOME."""
    home = tmp_path / "home"
    home.mkdir()
    return model.cli_env(home)


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    """A git worktree on branch ticket/proj-1 of a repository with one commit."""
    repo = make_repo(tmp_path / "repo", {"README.md": "# widgets\n", "app.py": "VALUE = 1\n"})
    path = tmp_path / "worktrees" / "ticket" / "proj-1"
    git("worktree", "add", "--quiet", "-b", "ticket/proj-1", str(path), cwd=repo)
    return path


@pytest.fixture
def limits() -> AgentLimits:
    return AgentLimits(max_turns=10, max_budget_usd=5.0, timeout_s=60)
