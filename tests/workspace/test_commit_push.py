"""Committing as the bot, what the change is, and pushing to origin (never forced)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.errors import WorkspaceError
from app.workspace import Workspace
from tests.fakes.git_repos import commit_info, git, push_commit, rev
from tests.workspace.conftest import BOT, BRANCH, commit, ticket_worktree


async def test_commit_uses_the_bot_identity_and_message(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Someone Else")  # must not win over the bot
    worktree = await ticket_worktree(workspace)
    (worktree / "feature.py").write_text("x = 1\n")

    sha = await commit(workspace, worktree, "PROJ-1: add feature\n\nBody.")

    assert sha == rev(worktree, "HEAD")
    assert commit_info(worktree, "HEAD") == {
        "author_name": BOT[0],
        "author_email": BOT[1],
        "committer_name": BOT[0],
        "committer_email": BOT[1],
        "message": "PROJ-1: add feature\n\nBody.",
    }


async def test_commit_is_idempotent_and_never_empty(workspace: Workspace) -> None:
    worktree = await ticket_worktree(workspace)
    assert await commit(workspace, worktree, "nothing") is None

    (worktree / "feature.py").write_text("x = 1\n")
    sha = await commit(workspace, worktree, "PROJ-1: feature")
    rerun = await commit(workspace, worktree, "PROJ-1: feature")

    assert rerun == sha
    assert git("rev-list", "--count", "origin/main..HEAD", cwd=worktree).strip() == "1"


async def test_diff_and_has_changes_include_new_files(workspace: Workspace) -> None:
    worktree = await ticket_worktree(workspace)
    assert not await workspace.has_changes(worktree)
    assert await workspace.diff(worktree) == ""

    (worktree / "new_module.py").write_text("VALUE = 42\n")
    (worktree / "README.md").write_text("# widgets, changed\n")

    assert await workspace.has_changes(worktree)
    diff = await workspace.diff(worktree)
    assert "+VALUE = 42" in diff
    assert "+# widgets, changed" in diff


async def test_push_lands_on_origin_and_twice_is_fine(workspace: Workspace, origin: Path) -> None:
    worktree = await ticket_worktree(workspace)
    (worktree / "feature.py").write_text("x = 1\n")
    sha = await commit(workspace, worktree, "PROJ-1: feature")

    await workspace.push(BRANCH, commit=sha)
    await workspace.push(BRANCH, commit=sha)

    assert rev(origin, f"refs/heads/{BRANCH}") == sha


async def test_push_never_forces_over_commits_on_origin(workspace: Workspace, origin: Path) -> None:
    worktree = await ticket_worktree(workspace)
    (worktree / "feature.py").write_text("x = 1\n")
    await workspace.push(BRANCH, commit=await commit(workspace, worktree, "first"))
    reviewer = push_commit(origin, {"feature.py": "x = 2\n"}, branch=BRANCH, message="review")
    (worktree / "other.py").write_text("y = 1\n")
    second = await commit(workspace, worktree, "second")

    with pytest.raises(WorkspaceError, match="push of ticket/proj-1 to origin") as caught:
        await workspace.push(BRANCH, commit=second)
    assert "[rejected]" in caught.value.output_tail
    assert rev(origin, f"refs/heads/{BRANCH}") == reviewer


async def test_concurrent_tickets_share_one_clone_without_lock_errors(
    workspace: Workspace, origin: Path
) -> None:
    branches = [f"ticket/proj-{n}" for n in range(1, 9)]
    await workspace.sync()

    async def run(branch: str) -> str | None:
        worktree = await ticket_worktree(workspace, branch)
        (worktree / f"{branch.replace('/', '_')}.txt").write_text(branch)
        sha = await commit(workspace, worktree, branch)
        await workspace.push(branch, commit=sha)
        return sha

    shas = await asyncio.gather(*(run(branch) for branch in branches))

    assert [rev(origin, f"refs/heads/{b}") for b in branches] == shas


async def test_push_sends_the_checked_commit_not_where_the_branch_moved(
    workspace: Workspace, origin: Path
) -> None:
    """Between the commit stage's checks and the push, a program of the agent's can move the
    branch; what reaches origin is the commit that was checked."""
    worktree = await ticket_worktree(workspace)
    (worktree / "feature.py").write_text("x = 1\n")
    checked = await commit(workspace, worktree, "PROJ-1: feature")
    (worktree / "feature.py").write_text("x = 'unchecked'\n")
    git("commit", "-q", "-am", "unchecked", cwd=worktree)
    assert rev(workspace.repo, BRANCH) != checked

    await workspace.push(BRANCH, commit=checked)

    assert rev(origin, f"refs/heads/{BRANCH}") == checked
