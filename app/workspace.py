"""The shared clone and one git worktree per ticket.

Layout (a contract with users): the shared clone is `<WORKSPACE_DIR>/repo` (or REPO_DIR for local
use); ticket `PROJ-1` works in `<WORKSPACE_DIR>/worktrees/ticket/proj-1` on branch `ticket/proj-1`.

Every operation that touches the shared clone's refs or worktree list holds one asyncio lock per
clone, so concurrent tickets never race for git's lock files. Every step can run again after a
crash: leftovers are cleared first, a registered worktree is reused, a pushed branch is continued.

Every git command goes through `app.git.Git`, which keeps what the agent's programs write (the
clone's `.git/config`, a worktree's `.git` file, `~/.gitconfig`, hooks) from running anything next
to the GitHub token or sending it anywhere but REPO_URL's host. Commands that talk to origin run in
the shared clone; each sync first restores the clone's configuration if something changed it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from app.errors import WorkspaceError
from app.git import Git

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger(__name__)

BRANCH_PATTERN = re.compile(r"ticket/[a-z][a-z0-9_]+-[1-9][0-9]*")
BASE_PATTERN = re.compile(r"(?!-)(?!.*\.\.)(?!.*//)(?!.*\.lock$)[A-Za-z0-9._/-]+(?<![./])")
_locks: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = WeakKeyDictionary()


def clone_lock(repo: Path) -> asyncio.Lock:
    """The lock of one shared clone (per event loop: an asyncio.Lock cannot cross loops)."""
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(repo, asyncio.Lock())


def check_branch(branch: str) -> str:
    if not BRANCH_PATTERN.fullmatch(branch):
        raise WorkspaceError(f"refusing branch {branch!r}: expected ticket/<key in lower case>")
    return branch


def check_base(base: str) -> str:
    if not BASE_PATTERN.fullmatch(base):
        raise WorkspaceError(f"refusing base branch {base!r}: not a plain branch name")
    return base


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
            await self._clear_leftovers()
            if await self._has_origin():
                await self.git.run("fetch", "--prune", "origin", what="fetch from origin", net=True)

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

    async def read_file(self, *, ref: str, path: str) -> str | None:
        """A file's text at `ref`: read `.auto-code.toml` before a worktree exists."""
        result = await self.git.run("show", f"{check_base(ref)}:{path}", check=False)
        return result.output if result.ok else None

    async def create_worktree(self, *, branch: str, base: str) -> Path:
        """The worktree of `branch`: reused if registered, else continued from a pushed branch,
        else from the local branch, else new from `base`."""
        path = self.worktree_path(branch)
        check_base(base)
        async with self._lock:
            registered = (await self._clear_leftovers()).get(path)
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
                args = ["--no-track", "-b", branch, str(path), await self._base_ref(base)]
            await self.git.run("worktree", "add", *args, what=f"creating worktree {path}")
        return path

    async def diff(self, worktree: Path) -> str:
        """The uncommitted change including new files (stages everything; the last 64k chars)."""
        await self.git.run("add", "-A", worktree=worktree, what="staging changes")
        args = ("diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv")
        return (await self.git.run(*args, worktree=worktree, what="diff")).output

    async def changed_files(self, worktree: Path, *, base: str) -> list[str]:
        """Every path the commit would change against `base` (stages everything), relative.

        Written to a file by git rather than read from its output, which is cut at 64k.
        """
        await self.git.run("add", "-A", worktree=worktree, what="staging changes")
        start = await self._base_ref(base)
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

    async def commit(self, worktree: Path, *, message: str, base: str) -> str | None:
        """Commit everything as the bot; the sha to push, or None when there is nothing to push.

        Run again after a crash, with the change already committed, it returns HEAD (ahead of
        `base`) instead of failing or making an empty commit.
        """
        await self.git.run("add", "-A", worktree=worktree, what="staging changes")
        staged = await self.git.run("diff", "--cached", "--quiet", worktree=worktree, check=False)
        if staged.exit_code not in (0, 1):
            raise WorkspaceError(f"git diff --cached failed: {staged.describe()}", result=staged)
        if staged.exit_code == 1:
            args = ("commit", "--no-verify", "--quiet", "-m", message)
            await self.git.run(*args, worktree=worktree, what="commit", env=self._identity)
        else:
            start = await self._base_ref(base)
            ahead = await self.git.run("rev-list", "--count", f"{start}..HEAD", worktree=worktree)
            if int(ahead.output.strip()) == 0:
                return None
        return (await self.git.run("rev-parse", "HEAD", worktree=worktree)).output.strip()

    async def push(self, branch: str) -> None:
        """Push without force; pushing what origin already has is a no-op.

        The branch is pushed from the shared clone, never from its worktree: a worktree's `.git`
        file is the agent's to rewrite.
        """
        ref = f"refs/heads/{check_branch(branch)}"
        if not await self._has_origin():
            raise WorkspaceError(f"cannot push {branch}: the repository has no origin remote")
        async with self._lock:  # the push updates the shared clone's refs/remotes/origin/*
            what = f"push of {branch} to origin (rejected = origin has commits this branch lacks)"
            args = ("push", "--no-verify", "origin", f"{ref}:{ref}")
            await self.git.run(*args, what=what, net=True)

    async def remove_worktree(self, worktree: Path) -> None:
        """Remove a ticket's worktree (its branch stays); nothing to remove is fine."""
        inside = worktree.is_relative_to(self.worktrees_dir)
        relative = worktree.relative_to(self.worktrees_dir).as_posix() if inside else ""
        if not BRANCH_PATTERN.fullmatch(relative):  # also refuses `..`: nothing else is deleted
            raise WorkspaceError(f"refusing to remove {worktree}: not a ticket worktree")
        async with self._lock:
            if worktree in await self._worktrees():
                args = ("worktree", "remove", "--force", "--force", str(worktree))
                await self.git.run(*args, what=f"removing worktree {worktree}")
            await asyncio.to_thread(_remove_tree, worktree)
            await self.git.run("worktree", "prune", what="worktree prune")

    def clear_stale_locks(self) -> list[str]:
        """Delete the lock files git leaves behind when it is killed; the ones deleted.

        A crash mid-fetch leaves `refs/remotes/origin/<branch>.lock` and every later fetch fails
        ("cannot lock ref ... File exists"); a crash mid-`git add` leaves the worktree's
        `index.lock` and its commit fails. Call only while no git command of this service runs,
        at start-up before runs resume. Only the managed clone (REPO_URL) is touched: in a
        REPO_DIR, a lock may be a person's git at work.
        """
        git_dir = self.repo / ".git"
        if not self.repo_url or not git_dir.is_dir():
            return []
        stale = []
        for folder, subfolders, files in os.walk(git_dir):
            if Path(folder) == git_dir:
                subfolders[:] = [name for name in subfolders if name != "objects"]
            stale += [Path(folder) / name for name in files if name.endswith(".lock")]
        for path in stale:
            path.unlink(missing_ok=True)
        return sorted(str(path.relative_to(git_dir)) for path in stale)

    async def _clone(self) -> None:
        """Clone beside the final path and rename, so a crash never leaves a half clone in place."""
        partial = self.root / "repo.partial"
        await asyncio.to_thread(_remove_tree, self.repo)
        await asyncio.to_thread(_remove_tree, partial)
        self.root.mkdir(parents=True, exist_ok=True)
        await self.git.clone(partial)
        partial.rename(self.repo)

    async def _is_clone(self) -> bool:
        if not self.repo.is_dir() or (self.repo_url and not self.git.has_git_dir()):
            return False
        # The directory itself must be the repository, not a folder inside another one.
        result = await self.git.run("rev-parse", "--show-toplevel", check=False)
        return result.ok and result.output.strip() == str(self.repo)

    async def _clear_leftovers(self) -> dict[Path, dict[str, str]]:
        """Prune, drop worktrees a crash left half-created, delete directories git forgot.

        Call with the lock held; returns the worktrees that remain registered.
        """
        await self.git.run("worktree", "prune", what="worktree prune")
        registered = await self._worktrees()
        for path, info in list(registered.items()):
            # `git worktree add` locks a new worktree "initializing" until its checkout finished.
            if info.get("locked") == "initializing" and path.is_relative_to(self.worktrees_dir):
                log.warning("workspace.half_created_worktree_removed", extra={"path": str(path)})
                args = ("worktree", "remove", "--force", "--force", str(path))
                await self.git.run(*args, what=f"removing half-created worktree {path}")
                del registered[path]
        tickets = self.worktrees_dir / "ticket"
        for path in sorted(tickets.iterdir()) if tickets.is_dir() else ():
            if path not in registered:
                await asyncio.to_thread(_remove_tree, path)
        return registered

    async def _worktrees(self) -> dict[Path, dict[str, str]]:
        """Registered worktrees by path, with their porcelain fields (`branch`, `locked`)."""
        listing = await self.git.run("worktree", "list", "--porcelain", "-z", what="worktree list")
        records = (r.strip("\0").split("\0") for r in listing.output.split("\0\0"))
        fields = (dict(f.partition(" ")[::2] for f in record if f) for record in records)
        return {Path(f["worktree"]): f for f in fields if "worktree" in f}

    async def _has_origin(self) -> bool:
        remotes = await self.git.run("remote", what="listing remotes")
        return "origin" in remotes.output.split()

    async def _base_ref(self, base: str) -> str:
        """Where ticket branches start: origin's `base`, or the local one without an origin."""
        origin = await self._has_origin()
        return f"refs/{'remotes/origin' if origin else 'heads'}/{check_base(base)}"

    async def _ok(self, *args: str) -> bool:
        return (await self.git.run(*args, check=False)).ok


def _remove_tree(path: Path) -> None:
    """Delete a directory git no longer tracks (run in a thread: node_modules is large)."""
    if path.is_dir() and not path.is_symlink():
        log.warning("workspace.leftover_removed", extra={"path": str(path)})
        shutil.rmtree(path)
