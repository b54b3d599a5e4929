"""What a crash or a failing remote leaves behind, and the next sync recovering from it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.errors import WorkspaceError
from app.workspace import Workspace
from tests.fakes.git_repos import git, rev
from tests.workspace.conftest import make_workspace, ticket_worktree


async def test_stale_worktree_directory_is_recovered(workspace: Workspace) -> None:
    """A crash between unregistering a worktree and deleting its directory (or a shared clone
    that was re-cloned under old worktrees) left `worktrees/ticket/proj-1` on disk unknown to
    git. `git worktree add` then failed with "already exists" on every retry, so the ticket could
    never run again. The next sync removes such directories."""
    stale = workspace.root / "worktrees" / "ticket" / "proj-1"
    stale.mkdir(parents=True)
    (stale / "leftover.txt").write_text("from a crashed run\n")

    worktree = await ticket_worktree(workspace)

    assert worktree == stale
    assert not (worktree / "leftover.txt").exists()
    assert (worktree / "README.md").exists()


async def test_half_created_worktree_is_recreated(workspace: Workspace) -> None:
    """A kill during `git worktree add` leaves the worktree registered, locked "initializing",
    with a partial checkout. Reused as is, `git add -A` would commit the missing files as
    deleted. The next sync removes it, so the worktree is checked out again in full."""
    worktree = await ticket_worktree(workspace)
    admin = Path(git("rev-parse", "--absolute-git-dir", cwd=worktree).strip())
    (admin / "locked").write_text("initializing")
    (worktree / "README.md").unlink()

    again = await ticket_worktree(workspace)

    assert again == worktree
    assert (again / "README.md").exists()
    assert not await workspace.has_changes(again)


async def test_half_finished_clone_is_replaced(workspace: Workspace, origin: Path) -> None:
    """A crash mid-clone must not leave a directory that later syncs mistake for the clone."""
    (workspace.root / "repo").mkdir(parents=True)
    (workspace.root / "repo" / "partial-object").write_text("junk")
    (workspace.root / "repo.partial").mkdir()

    await workspace.sync()

    assert rev(workspace.repo, "origin/main") == rev(origin, "main")
    assert not (workspace.root / "repo.partial").exists()


async def test_failed_fetch_raises_and_the_next_sync_recovers(
    workspace: Workspace, origin: Path
) -> None:
    await workspace.sync()
    moved = origin.with_name("moved.git")
    os.replace(origin, moved)

    with pytest.raises(WorkspaceError, match="fetch from origin failed") as caught:
        await workspace.sync()
    assert caught.value.result is not None
    assert caught.value.result.exit_code != 0

    os.replace(moved, origin)
    await workspace.sync()
    assert rev(workspace.repo, "origin/main") == rev(origin, "main")


async def test_hanging_remote_is_killed_at_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hang = tmp_path / "hanging-ssh"
    hang.write_text("#!/bin/sh\nexec sleep 60\n")
    hang.chmod(0o755)
    monkeypatch.setenv("GIT_SSH", str(hang))
    monkeypatch.setenv("GIT_SSH_VARIANT", "simple")
    workspace = make_workspace(
        tmp_path / "ws", repo_url="ssh://git@example.invalid/acme/widgets.git", timeout_s=1
    )

    start = time.monotonic()
    with pytest.raises(WorkspaceError, match="timed out"):
        await workspace.sync()

    assert time.monotonic() - start < 10
    assert not workspace.repo.exists()
