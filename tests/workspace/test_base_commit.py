"""The base commit a run is pinned to: asked of origin, and what the change is compared against.

The agent's scripts run as the service's user, so they can move any ref of the shared clone.
Here the test plays such a script with plain git: it commits a file holding a secret value on the
ticket branch, then moves `refs/remotes/origin/main` (or plants a replacement ref) onto that
commit, so that a diff against the ref would no longer show the file the push would send.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.agent.leaks import check_change
from app.errors import AgentError, WorkspaceError
from app.workspace import Workspace
from tests.fakes.git_repos import git, push_commit, rev
from tests.workspace.conftest import BRANCH, ticket_worktree

SECRET = "sk-ant-pinned-base-secret-0123456789"


def commit_a_secret(worktree: Path) -> str:
    """What a script of the agent can do behind the guard: commit a file holding a secret."""
    (worktree / "notes.txt").write_text(f"{SECRET}\n")
    git("add", "notes.txt", cwd=worktree)
    git("commit", "--quiet", "-m", "notes", cwd=worktree)
    (worktree / "greeting.py").write_text("print('hello')\n")  # and the ticket's work
    return git("rev-parse", "HEAD", cwd=worktree).strip()


async def test_a_moved_origin_ref_does_not_hide_a_committed_secret(
    workspace: Workspace, origin: Path
) -> None:
    worktree = await ticket_worktree(workspace)
    base = await workspace.base_commit("main")
    sneaky = commit_a_secret(worktree)
    git("update-ref", "refs/remotes/origin/main", sneaky, cwd=worktree)
    assert rev(workspace.repo, "origin/main") == sneaky  # the clone's ref now hides notes.txt

    changed = await workspace.changed_files(worktree, base_commit=base)

    assert base == rev(origin, "main")
    assert sorted(changed) == ["greeting.py", "notes.txt"]
    with pytest.raises(AgentError, match=r"refusing to commit: notes\.txt"):
        await check_change(worktree, changed, secrets=[SECRET], allow_workflow_edits=False)


async def test_commits_are_counted_from_the_pinned_base(workspace: Workspace) -> None:
    """With the ref moved onto the branch, counting from it would find nothing to push."""
    worktree = await ticket_worktree(workspace)
    base = await workspace.base_commit("main")
    (worktree / "greeting.py").write_text("print('hello')\n")
    git("add", "-A", cwd=worktree)
    git("commit", "--quiet", "-m", "greet", cwd=worktree)
    head = git("rev-parse", "HEAD", cwd=worktree).strip()
    git("update-ref", "refs/remotes/origin/main", head, cwd=worktree)

    assert await workspace.commit(worktree, message="PROJ-1: greet", base_commit=base) == head


async def test_a_replacement_ref_cannot_stand_in_for_the_base(
    workspace: Workspace, origin: Path
) -> None:
    """`refs/replace/<base>` makes plain git read another commit wherever it reads the base,
    while a push still sends the real objects; the service's git does not follow it."""
    worktree = await ticket_worktree(workspace)
    base = await workspace.base_commit("main")
    sneaky = commit_a_secret(worktree)
    git("update-ref", f"refs/replace/{base}", sneaky, cwd=worktree)
    plain = git("diff", "--name-only", base, "HEAD", cwd=worktree).split()
    assert "notes.txt" not in plain  # live: plain git is fooled

    changed = await workspace.changed_files(worktree, base_commit=base)

    assert sorted(changed) == ["greeting.py", "notes.txt"]


async def test_the_base_is_asked_of_origin_not_read_from_the_clone(
    workspace: Workspace, origin: Path
) -> None:
    """A script of a concurrent run may move the ref between the sync and the pin."""
    worktree = await ticket_worktree(workspace, "ticket/proj-2")
    sneaky = commit_a_secret(worktree)
    git("update-ref", "refs/remotes/origin/main", sneaky, cwd=worktree)

    base = await workspace.base_commit("main")
    fresh = await workspace.create_worktree(branch=BRANCH, base_commit=base)

    assert base == rev(origin, "main") != sneaky
    assert rev(fresh, "HEAD") == base


async def test_a_base_that_moved_after_the_sync_is_fetched(
    workspace: Workspace, origin: Path
) -> None:
    await workspace.sync()
    newer = push_commit(origin, {"CHANGELOG.md": "x\n"}, branch="main", message="later")

    base = await workspace.base_commit("main")
    worktree = await workspace.create_worktree(branch=BRANCH, base_commit=base)

    assert base == newer
    assert (worktree / "CHANGELOG.md").read_text() == "x\n"


async def test_only_a_branch_origin_has_and_a_full_commit_id_are_accepted(
    workspace: Workspace,
) -> None:
    await workspace.sync()

    with pytest.raises(WorkspaceError, match="origin has no branch 'develop'"):
        await workspace.base_commit("develop")
    with pytest.raises(WorkspaceError, match="refusing base branch"):
        await workspace.base_commit("--upload-pack=evil")
    for start in ("main", "origin/main", "HEAD~1", "--orphan"):
        with pytest.raises(WorkspaceError, match="refusing commit"):
            await workspace.create_worktree(branch=BRANCH, base_commit=start)
        with pytest.raises(WorkspaceError, match="refusing commit"):
            await workspace.commit(workspace.repo, message="x", base_commit=start)
