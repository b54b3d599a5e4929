"""Syncing the shared clone, and creating, reusing and removing ticket worktrees."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import WorkspaceError
from app.workspace import Workspace
from tests.fakes.git_repos import git, make_origin, make_repo, push_commit, rev
from tests.workspace.conftest import BRANCH, commit, make_workspace, ticket_worktree


async def test_sync_clones_then_fetches(workspace: Workspace, origin: Path) -> None:
    await workspace.sync()
    assert workspace.repo == workspace.root / "repo"
    assert rev(workspace.repo, "origin/main") == rev(origin, "main")

    newer = push_commit(origin, {"CHANGELOG.md": "x\n"}, branch="main", message="later")
    await workspace.sync()
    assert rev(workspace.repo, "origin/main") == newer


async def test_worktree_is_on_the_ticket_branch_from_origin_base(
    workspace: Workspace, origin: Path
) -> None:
    worktree = await ticket_worktree(workspace)

    assert worktree == workspace.root / "worktrees" / "ticket" / "proj-1"
    assert git("branch", "--show-current", cwd=worktree).strip() == BRANCH
    assert rev(worktree, "HEAD") == rev(origin, "main")
    assert (worktree / "src" / "app.py").read_text() == "print('hi')\n"


@pytest.mark.parametrize(
    "branch", ["main", "ticket/PROJ-1", "ticket/proj-1/../../x", "../ticket/proj-1", "ticket/-1"]
)
async def test_branch_names_outside_the_ticket_shape_are_refused(
    workspace: Workspace, branch: str
) -> None:
    with pytest.raises(WorkspaceError, match="refusing branch"):
        await workspace.create_worktree(branch=branch, base_commit="0" * 40)


async def test_rerun_continues_from_the_pushed_branch(workspace: Workspace, origin: Path) -> None:
    worktree = await ticket_worktree(workspace)
    (worktree / "feature.py").write_text("x = 1\n")
    pushed = await commit(workspace, worktree, "PROJ-1: feature")
    await workspace.push(BRANCH, commit=pushed)
    await workspace.remove_worktree(worktree)
    git("branch", "-D", BRANCH, cwd=workspace.repo)

    again = await ticket_worktree(workspace)

    assert rev(again, "HEAD") == pushed
    assert (again / "feature.py").read_text() == "x = 1\n"


async def test_rerun_takes_commits_others_pushed_to_the_branch(
    workspace: Workspace, origin: Path
) -> None:
    worktree = await ticket_worktree(workspace)
    (worktree / "feature.py").write_text("x = 1\n")
    await workspace.push(BRANCH, commit=await commit(workspace, worktree, "PROJ-1: feature"))
    await workspace.remove_worktree(worktree)  # the local branch stays, now behind origin's
    reviewer = push_commit(origin, {"feature.py": "x = 2\n"}, branch=BRANCH, message="review")

    again = await ticket_worktree(workspace)

    assert rev(again, "HEAD") == reviewer


async def test_rerun_keeps_local_commits_that_were_never_pushed(workspace: Workspace) -> None:
    worktree = await ticket_worktree(workspace)
    (worktree / "a.py").write_text("a = 1\n")
    await workspace.push(BRANCH, commit=await commit(workspace, worktree, "first"))
    (worktree / "b.py").write_text("b = 1\n")
    unpushed = await commit(workspace, worktree, "second")
    await workspace.remove_worktree(worktree)

    again = await ticket_worktree(workspace)

    assert rev(again, "HEAD") == unpushed


async def test_resumed_run_reuses_its_worktree_as_is(workspace: Workspace) -> None:
    worktree = await ticket_worktree(workspace)
    (worktree / "work-in-progress.py").write_text("pass\n")

    again = await ticket_worktree(workspace)

    assert again == worktree
    assert (again / "work-in-progress.py").exists()


async def test_base_branch_is_configured_or_origins_default(tmp_path: Path) -> None:
    origin = make_origin(tmp_path, branch="trunk")
    workspace = make_workspace(tmp_path / "ws", repo_url=str(origin))
    await workspace.sync()

    assert await workspace.base_branch("develop") == "develop"
    assert await workspace.base_branch(None) == "trunk"
    git("remote", "set-head", "origin", "--delete", cwd=workspace.repo)
    assert await workspace.base_branch(None) == "trunk"
    with pytest.raises(WorkspaceError, match="refusing base branch"):
        await workspace.base_branch("--upload-pack=evil")


async def test_local_repo_without_origin(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "local", {"app.py": "pass\n"}, branch="dev")
    workspace = make_workspace(tmp_path / "ws", repo_dir=repo)
    await workspace.sync()
    base = await workspace.base_branch(None)
    assert base == "dev"

    base_commit = await workspace.base_commit(base)
    assert base_commit == rev(repo, "dev")

    worktree = await workspace.create_worktree(branch=BRANCH, base_commit=base_commit)
    (worktree / "app.py").write_text("print('changed')\n")
    sha = await workspace.commit(worktree, message="PROJ-1: change", base_commit=base_commit)

    assert worktree.parent.parent == tmp_path / "ws" / "worktrees"
    assert rev(repo, BRANCH) == sha
    with pytest.raises(WorkspaceError, match="no origin remote"):
        await workspace.push(BRANCH, commit=sha)


async def test_remove_worktree_keeps_the_branch(workspace: Workspace) -> None:
    worktree = await ticket_worktree(workspace)

    assert workspace.remove_command(worktree) == (
        f"git -C {workspace.repo} worktree remove {worktree} --force"
    )
    await workspace.remove_worktree(worktree)
    await workspace.remove_worktree(worktree)  # nothing left to remove is fine

    assert not worktree.exists()
    assert rev(workspace.repo, f"refs/heads/{BRANCH}") is not None
    with pytest.raises(WorkspaceError, match="not a ticket worktree"):
        await workspace.remove_worktree(workspace.root / "worktrees" / "ticket" / "..")


async def test_read_file_at_a_ref(workspace: Workspace) -> None:
    await workspace.sync()

    assert await workspace.read_file(ref="origin/main", path="README.md") == "# widgets\n"
    assert await workspace.read_file(ref="origin/main", path=".auto-code.toml") is None
