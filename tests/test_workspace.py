"""The shared clone and worktrees, against real git with a bare repository as origin."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.errors import WorkspaceError
from app.process import CommandResult, command_log
from app.workspace import Workspace
from tests.fakes.git_repos import (
    commit_info,
    git,
    isolate_git,
    make_origin,
    make_repo,
    push_commit,
    rev,
)

BRANCH = "ticket/proj-1"
BOT = ("auto-code[bot]", "auto-code@users.noreply.github.com")
TOKEN = "ghp_TestTokenValue0123456789"


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
    await workspace.sync()
    return await workspace.create_worktree(branch=branch, base="main")


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
        await workspace.create_worktree(branch=branch, base="main")


async def test_rerun_continues_from_the_pushed_branch(workspace: Workspace, origin: Path) -> None:
    worktree = await ticket_worktree(workspace)
    (worktree / "feature.py").write_text("x = 1\n")
    pushed = await workspace.commit(worktree, message="PROJ-1: feature", base="main")
    await workspace.push(BRANCH)
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
    await workspace.commit(worktree, message="PROJ-1: feature", base="main")
    await workspace.push(BRANCH)
    await workspace.remove_worktree(worktree)  # the local branch stays, now behind origin's
    reviewer = push_commit(origin, {"feature.py": "x = 2\n"}, branch=BRANCH, message="review")

    again = await ticket_worktree(workspace)

    assert rev(again, "HEAD") == reviewer


async def test_rerun_keeps_local_commits_that_were_never_pushed(workspace: Workspace) -> None:
    worktree = await ticket_worktree(workspace)
    (worktree / "a.py").write_text("a = 1\n")
    await workspace.commit(worktree, message="first", base="main")
    await workspace.push(BRANCH)
    (worktree / "b.py").write_text("b = 1\n")
    unpushed = await workspace.commit(worktree, message="second", base="main")
    await workspace.remove_worktree(worktree)

    again = await ticket_worktree(workspace)

    assert rev(again, "HEAD") == unpushed


async def test_resumed_run_reuses_its_worktree_as_is(workspace: Workspace) -> None:
    worktree = await ticket_worktree(workspace)
    (worktree / "work-in-progress.py").write_text("pass\n")

    again = await ticket_worktree(workspace)

    assert again == worktree
    assert (again / "work-in-progress.py").exists()


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


async def test_commit_uses_the_bot_identity_and_message(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Someone Else")  # must not win over the bot
    worktree = await ticket_worktree(workspace)
    (worktree / "feature.py").write_text("x = 1\n")

    sha = await workspace.commit(worktree, message="PROJ-1: add feature\n\nBody.", base="main")

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
    assert await workspace.commit(worktree, message="nothing", base="main") is None

    (worktree / "feature.py").write_text("x = 1\n")
    sha = await workspace.commit(worktree, message="PROJ-1: feature", base="main")
    rerun = await workspace.commit(worktree, message="PROJ-1: feature", base="main")

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
    sha = await workspace.commit(worktree, message="PROJ-1: feature", base="main")

    await workspace.push(BRANCH)
    await workspace.push(BRANCH)

    assert rev(origin, f"refs/heads/{BRANCH}") == sha


async def test_push_never_forces_over_commits_on_origin(workspace: Workspace, origin: Path) -> None:
    worktree = await ticket_worktree(workspace)
    (worktree / "feature.py").write_text("x = 1\n")
    await workspace.commit(worktree, message="first", base="main")
    await workspace.push(BRANCH)
    reviewer = push_commit(origin, {"feature.py": "x = 2\n"}, branch=BRANCH, message="review")
    (worktree / "other.py").write_text("y = 1\n")
    await workspace.commit(worktree, message="second", base="main")

    with pytest.raises(WorkspaceError, match="push of ticket/proj-1 to origin") as caught:
        await workspace.push(BRANCH)
    assert "[rejected]" in caught.value.output_tail
    assert rev(origin, f"refs/heads/{BRANCH}") == reviewer


async def test_concurrent_tickets_share_one_clone_without_lock_errors(
    workspace: Workspace, origin: Path
) -> None:
    branches = [f"ticket/proj-{n}" for n in range(1, 9)]
    await workspace.sync()

    async def run(branch: str) -> str | None:
        await workspace.sync()
        worktree = await workspace.create_worktree(branch=branch, base="main")
        (worktree / f"{branch.replace('/', '_')}.txt").write_text(branch)
        sha = await workspace.commit(worktree, message=branch, base="main")
        await workspace.push(branch)
        return sha

    shas = await asyncio.gather(*(run(branch) for branch in branches))

    assert [rev(origin, f"refs/heads/{b}") for b in branches] == shas


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

    worktree = await workspace.create_worktree(branch=BRANCH, base=base)
    (worktree / "app.py").write_text("print('changed')\n")
    sha = await workspace.commit(worktree, message="PROJ-1: change", base=base)

    assert worktree.parent.parent == tmp_path / "ws" / "worktrees"
    assert rev(repo, BRANCH) == sha
    with pytest.raises(WorkspaceError, match="no origin remote"):
        await workspace.push(BRANCH)


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


def test_repo_url_with_credentials_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="must not contain credentials"):
        make_workspace(tmp_path, repo_url="https://x-access-token:ghp_abc@github.com/acme/w.git")


async def test_read_file_at_a_ref(workspace: Workspace) -> None:
    await workspace.sync()

    assert await workspace.read_file(ref="origin/main", path="README.md") == "# widgets\n"
    assert await workspace.read_file(ref="origin/main", path=".auto-code.toml") is None


async def test_token_is_never_stored_or_logged(tmp_path: Path, origin: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", repo_url=str(origin), token=TOKEN)
    records: list[CommandResult] = []
    reset = command_log.set(records)
    try:
        worktree = await ticket_worktree(workspace)
        (worktree / "feature.py").write_text("x = 1\n")
        await workspace.commit(worktree, message="PROJ-1: feature", base="main")
        await workspace.push(BRANCH)
        await workspace.sync()
    finally:
        command_log.reset(reset)

    git_dir = workspace.repo / ".git"
    stored = [p for p in git_dir.rglob("*") if p.is_file() and "objects" not in p.parts]
    assert (git_dir / "config") in stored
    assert not [p for p in stored if TOKEN.encode() in p.read_bytes()]
    assert TOKEN not in git("remote", "get-url", "origin", cwd=workspace.repo)
    assert len(records) > 10
    assert TOKEN not in json.dumps([record.to_record() for record in records])


class _AuthRecorder(BaseHTTPRequestHandler):
    """Answers 401 until a request carries credentials, records them, then refuses (403)."""

    seen: list[str]

    def do_GET(self) -> None:
        authorization = self.headers.get("Authorization")
        if authorization is None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="github"')
        else:
            self.seen.append(authorization)
            self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `seen`."""


@pytest.fixture
def https_like_origin() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Recorder", (_AuthRecorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/acme/widgets.git", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_token_reaches_the_remote_through_the_credential_helper(
    tmp_path: Path, https_like_origin: tuple[str, list[str]]
) -> None:
    url, seen = https_like_origin
    workspace = make_workspace(tmp_path / "ws", repo_url=url, token=TOKEN)

    with pytest.raises(WorkspaceError, match="clone of REPO_URL failed") as caught:
        await workspace.sync()

    expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert seen == [expected]
    assert TOKEN not in str(caught.value)
