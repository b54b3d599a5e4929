"""The shared clone and one git worktree per ticket.

Layout (a contract with users): the shared clone is `<WORKSPACE_DIR>/repo` (or REPO_DIR for local
use); ticket `PROJ-1` works in `<WORKSPACE_DIR>/worktrees/ticket/proj-1` on branch `ticket/proj-1`.

Every operation that touches the shared clone's refs or worktree list holds one asyncio lock per
clone, so concurrent tickets never race for git's lock files. Every step can run again after a
crash: leftovers are cleared first (`app.leftovers`), a registered worktree is reused, a pushed
branch is continued.

The agent's scripts run as the service's user and can move any ref of the shared clone, so once
the agent has run no ref is trusted: each run pins its base commit (`base_commit`, asked of
origin) before the agent starts, and compares against that sha (`changed_files`, `commit`).

Every git command goes through `app.git.Git`, which keeps what the agent's programs write (the
clone's `.git/config`, a worktree's `.git` file, `~/.gitconfig`, hooks) from running anything next
to the GitHub token or sending it anywhere but REPO_URL's host. Commands that talk to origin run in
the shared clone; each sync first restores the clone's configuration if something changed it.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from app import leftovers
from app.errors import WorkspaceError
from app.git import Git
from app.git_names import BRANCH_PATTERN, check_base, check_branch, check_commit

if TYPE_CHECKING:
    from app.config import Settings

_locks: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = WeakKeyDictionary()


def clone_lock(repo: Path) -> asyncio.Lock:
    """The lock of one shared clone (per event loop: an asyncio.Lock cannot cross loops)."""
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(repo, asyncio.Lock())


class Workspace:
    def __init__(
        self,
        root: Path,
        *,
        repo_url: str | None,
        repo_dir: Path | None,
        gh_token: str | None,
        timeout_s: float,
        author_name: str,
        author_email: str,
    ) -> None:
        if repo_url and urlsplit(repo_url).password:
            raise WorkspaceError("REPO_URL must not contain credentials: set GH_TOKEN instead")
        self.root = root.expanduser().resolve()
        self.repo_url = repo_url
        if repo_url:
            self.repo = self.root / "repo"
        elif repo_dir is not None:
            self.repo = repo_dir.expanduser().resolve()
        else:
            raise WorkspaceError("set REPO_URL (or REPO_DIR to work on a local repository)")
        self.worktrees_dir = self.root / "worktrees"
        self.git = Git(self.repo, repo_url=repo_url, token=gh_token, timeout_s=timeout_s)
        self._identity = {
            f"GIT_{who}_{part}": value
            for who in ("AUTHOR", "COMMITTER")
            for part, value in (("NAME", author_name), ("EMAIL", author_email))
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> Workspace:
        return cls(
            settings.workspace,
            repo_url=settings.repo_url,
            repo_dir=settings.repo_dir,
            gh_token=settings.gh_token.get_secret_value() if settings.gh_token else None,
            timeout_s=settings.git_timeout_s,
            author_name=settings.git_author_name,
            author_email=settings.git_author_email,
        )

    @property
    def _lock(self) -> asyncio.Lock:
        return clone_lock(self.repo)

    def worktree_path(self, branch: str) -> Path:
        return self.worktrees_dir / check_branch(branch)

    def remove_command(self, worktree: Path) -> str:
        """What a person runs to remove a worktree left in place (DRY_RUN)."""
        repo, path = shlex.quote(str(self.repo)), shlex.quote(str(worktree))
        return f"git -C {repo} worktree remove {path} --force"

    async def sync(self) -> None:
        """Clone if missing (or half-cloned), clear leftovers, fetch origin (if there is one)."""
        async with self._lock:
            await self.git.restore_config()  # after a hostile ticket, or a new REPO_URL
            if not await self._is_clone():
                if not self.repo_url:
                    raise WorkspaceError(f"REPO_DIR {self.repo} is not a git repository")
                await self._clone()
            await leftovers.clear_leftovers(self.git, self.worktrees_dir)
            if await self._has_origin():
                await self._fetch()

    async def base_branch(self, configured: str | None) -> str:
        """`configured`, else origin's default branch, else the local HEAD's branch."""
        if configured:
            return check_base(configured)
        if not await self._has_origin():
            head = await self.git.run("symbolic-ref", "--short", "HEAD", what="reading HEAD")
            return check_base(head.output.strip())
        args = ("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
        head = await self.git.run(*args, what="reading origin/HEAD", check=False)
        if not head.ok:
            async with self._lock:
                set_head = ("remote", "set-head", "origin", "--auto")
                await self.git.run(*set_head, what="set-head", net=True)
            head = await self.git.run(*args, what="reading origin/HEAD")
        return check_base(head.output.strip().removeprefix("origin/"))

    async def base_commit(self, base: str) -> str:
        """The commit a run starts from and compares its change against, pinned before its agent
        runs: where `base` is on origin (asked of origin, never read from the clone's refs, which
        the agent's scripts can move), or the local branch without an origin.

        A commit origin has is also one the push counts as there: the files the secret check
        reads are then everything the push sends (git's replacement refs are off, see `app.git`).
        """
        if not await self._has_origin():
            local = f"refs/heads/{check_base(base)}^{{commit}}"
            result = await self.git.run("rev-parse", "--verify", local, what=f"reading {base}")
            return check_commit(result.output.strip())
        ref = f"refs/heads/{check_base(base)}"
        what = f"asking origin for {ref}"
        listing = await self.git.run("ls-remote", "origin", ref, what=what, net=True)
        lines = (line.partition("\t") for line in listing.output.splitlines())
        found = [sha for sha, _, name in lines if name == ref]
        if not found:
            raise WorkspaceError(f"origin has no branch {base!r}")
        sha = check_commit(found[0])
        if not await self._ok("cat-file", "-e", f"{sha}^{{commit}}"):  # it moved since the fetch
            async with self._lock:
                await self._fetch()
        return sha

    async def read_file(self, *, ref: str, path: str) -> str | None:
        """A file's text at `ref`: read `.auto-code.toml` before a worktree exists."""
        result = await self.git.run("show", f"{check_base(ref)}:{path}", check=False)
        return result.output if result.ok else None

    async def create_worktree(self, *, branch: str, base_commit: str) -> Path:
        """The worktree of `branch`: reused if registered, else continued from a pushed branch,
        else from the local branch, else new from `base_commit`."""
        path = self.worktree_path(branch)
        check_commit(base_commit)
        async with self._lock:
            registered = (await leftovers.clear_leftovers(self.git, self.worktrees_dir)).get(path)
            if registered and registered.get("branch") == f"refs/heads/{branch}":
                return path
            if registered:
                raise WorkspaceError(
                    f"{path} is checked out on {registered.get('branch', 'a detached HEAD')}, not "
                    f"{branch}; remove it with: {self.remove_command(path)}"
                )
            origin = await self._has_origin()
            local, remote = f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"
            has_local = await self._ok("show-ref", "--verify", "--quiet", local)
            if origin and await self._ok("show-ref", "--verify", "--quiet", remote):
                if not has_local or await self._ok("merge-base", "--is-ancestor", local, remote):
                    args = ["--no-track", "-B", branch, str(path), remote]
                else:  # the local branch has commits origin lacks (a crash before the push)
                    args = [str(path), branch]
            elif has_local:
                args = [str(path), branch]
            else:
                args = ["--no-track", "-b", branch, str(path), base_commit]
            await self.git.run("worktree", "add", *args, what=f"creating worktree {path}")
        return path

    async def diff(self, worktree: Path) -> str:
        """The uncommitted change including new files (stages everything; the last 64k chars)."""
        await self.git.run("add", "-A", worktree=worktree, what="staging changes")
        args = ("diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv")
        return (await self.git.run(*args, worktree=worktree, what="diff")).output

    async def changed_files(self, worktree: Path, *, base_commit: str) -> list[str]:
        """Every path the commit would change against the run's pinned `base_commit` (stages
        everything), relative.

        Written to a file by git rather than read from its output, which is cut at 64k.
        """
        start = check_commit(base_commit)
        await self.git.run("add", "-A", worktree=worktree, what="staging changes")
        with tempfile.TemporaryDirectory(prefix="auto-code-") as tmp:
            listing = Path(tmp) / "changed"
            args = ("diff", "--cached", "--name-only", "--no-renames", "-z", f"--output={listing}")
            await self.git.run(*args, start, worktree=worktree, what="listing changes")
            names = os.fsdecode(listing.read_bytes()).split("\0")
        return [name for name in names if name]

    async def has_changes(self, worktree: Path) -> bool:
        args = ("status", "--porcelain", "--untracked-files=all")
        status = await self.git.run(*args, worktree=worktree, what="git status")
        return bool(status.output.strip())

    async def commit(self, worktree: Path, *, message: str, base_commit: str) -> str | None:
        """Commit everything as the bot; the sha to push, or None when there is nothing to push.

        Run again after a crash, with the change already committed, it returns HEAD (ahead of
        the run's pinned `base_commit`) instead of failing or making an empty commit.
        """
        check_commit(base_commit)
        await self.git.run("add", "-A", worktree=worktree, what="staging changes")
        staged = await self.git.run("diff", "--cached", "--quiet", worktree=worktree, check=False)
        if staged.exit_code not in (0, 1):
            raise WorkspaceError(f"git diff --cached failed: {staged.describe()}", result=staged)
        if staged.exit_code == 1:
            args = ("commit", "--no-verify", "--quiet", "-m", message)
            await self.git.run(*args, worktree=worktree, what="commit", env=self._identity)
        else:
            span = f"{base_commit}..HEAD"
            ahead = await self.git.run("rev-list", "--count", span, worktree=worktree)
            if int(ahead.output.strip()) == 0:
                return None
        return (await self.git.run("rev-parse", "HEAD", worktree=worktree)).output.strip()

    async def push(self, branch: str, *, commit: str) -> None:
        """Push `commit` to `branch` without force; pushing what origin already has is a no-op.

        The commit the pipeline checked is pushed, not whatever the branch points at by now, and
        from the shared clone, never from its worktree: the agent's programs can move a ref and
        rewrite a worktree's `.git` file.
        """
        ref = f"refs/heads/{check_branch(branch)}"
        check_commit(commit)
        if not await self._has_origin():
            raise WorkspaceError(f"cannot push {branch}: the repository has no origin remote")
        async with self._lock:  # the push updates the shared clone's refs/remotes/origin/*
            what = f"push of {branch} to origin (rejected = origin has commits this branch lacks)"
            args = ("push", "--no-verify", "origin", f"{commit}:{ref}")
            await self.git.run(*args, what=what, net=True)

    async def remove_worktree(self, worktree: Path) -> None:
        """Remove a ticket's worktree (its branch stays); nothing to remove is fine."""
        inside = worktree.is_relative_to(self.worktrees_dir)
        relative = worktree.relative_to(self.worktrees_dir).as_posix() if inside else ""
        if not BRANCH_PATTERN.fullmatch(relative):  # also refuses `..`: nothing else is deleted
            raise WorkspaceError(f"refusing to remove {worktree}: not a ticket worktree")
        async with self._lock:
            if worktree in await leftovers.worktrees(self.git):
                args = ("worktree", "remove", "--force", "--force", str(worktree))
                await self.git.run(*args, what=f"removing worktree {worktree}")
            await asyncio.to_thread(leftovers.remove_tree, worktree)
            await self.git.run("worktree", "prune", what="worktree prune")

    def clear_stale_locks(self) -> list[str]:
        """Delete the lock files a killed git left (`leftovers.clear_stale_locks`); call at
        start-up, before runs resume. Only the managed clone (REPO_URL) is touched: in a
        REPO_DIR, a lock may be a person's git at work."""
        return leftovers.clear_stale_locks(self.repo / ".git") if self.repo_url else []

    async def _clone(self) -> None:
        """Clone beside the final path and rename, so a crash never leaves a half clone in place."""
        partial = self.root / "repo.partial"
        await asyncio.to_thread(leftovers.remove_tree, self.repo)
        await asyncio.to_thread(leftovers.remove_tree, partial)
        self.root.mkdir(parents=True, exist_ok=True)
        await self.git.clone(partial)
        partial.rename(self.repo)

    async def _is_clone(self) -> bool:
        if not self.repo.is_dir() or (self.repo_url and not self.git.has_git_dir()):
            return False
        # The directory itself must be the repository, not a folder inside another one.
        result = await self.git.run("rev-parse", "--show-toplevel", check=False)
        return result.ok and result.output.strip() == str(self.repo)

    async def _has_origin(self) -> bool:
        remotes = await self.git.run("remote", what="listing remotes")
        return "origin" in remotes.output.split()

    async def _fetch(self) -> None:
        """Fetch origin into the shared clone (call with the lock held)."""
        await self.git.run("fetch", "--prune", "origin", what="fetch from origin", net=True)

    async def _ok(self, *args: str) -> bool:
        return (await self.git.run(*args, check=False)).ok
