"""The shared clone and worktrees, against real git with a bare repository as origin: the
fixtures and helpers of `tests/workspace/` (`tests/test_git.py` uses them too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.workspace import Workspace
from tests.fakes.git_repos import isolate_git, make_origin

BRANCH = "ticket/proj-1"
BOT = ("auto-code[bot]", "auto-code@users.noreply.github.com")


@pytest.fixture(autouse=True)
def _clean_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    return make_origin(tmp_path, {"README.md": "# widgets\n", "src/app.py": "print('hi')\n"})


def make_workspace(
    root: Path,
    *,
    repo_url: str | None = None,
    repo_dir: Path | None = None,
    token: str | None = None,
    timeout_s: float = 60,
) -> Workspace:
    return Workspace(
        root,
        repo_url=repo_url,
        repo_dir=repo_dir,
        gh_token=token,
        timeout_s=timeout_s,
        author_name=BOT[0],
        author_email=BOT[1],
    )


@pytest.fixture
def workspace(tmp_path: Path, origin: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", repo_url=str(origin))


async def ticket_worktree(workspace: Workspace, branch: str = BRANCH) -> Path:
    """What a run's workspace step does: sync, pin origin's main, create the worktree."""
    await workspace.sync()
    base_commit = await workspace.base_commit("main")
    return await workspace.create_worktree(branch=branch, base_commit=base_commit)


async def commit(workspace: Workspace, worktree: Path, message: str) -> str | None:
    """Commit against origin's main, as a run whose base is main does."""
    base_commit = await workspace.base_commit("main")
    return await workspace.commit(worktree, message=message, base_commit=base_commit)
