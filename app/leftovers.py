"""What a crash leaves in the shared clone, and clearing it so the next run can start.

A service killed mid-command leaves git's lock files (every later fetch or commit then fails),
worktrees registered but half checked out, and worktree directories git no longer knows (`git
worktree add` then fails with "already exists"). `app.workspace` clears them: lock files once at
start-up, the rest at every sync and before each worktree is created, with the clone's lock held.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

from app.git import Git

log = logging.getLogger(__name__)


def clear_stale_locks(git_dir: Path) -> list[str]:
    """Delete the lock files git leaves behind when it is killed; the ones deleted.

    A crash mid-fetch leaves `refs/remotes/origin/<branch>.lock` and every later fetch fails
    ("cannot lock ref ... File exists"); a crash mid-`git add` leaves the worktree's `index.lock`
    and its commit fails. Call only while no git command of this service runs.
    """
    if not git_dir.is_dir():
        return []
    stale = []
    for folder, subfolders, files in os.walk(git_dir):
        if Path(folder) == git_dir:
            subfolders[:] = [name for name in subfolders if name != "objects"]
        stale += [Path(folder) / name for name in files if name.endswith(".lock")]
    for path in stale:
        path.unlink(missing_ok=True)
    return sorted(str(path.relative_to(git_dir)) for path in stale)


async def clear_leftovers(git: Git, worktrees_dir: Path) -> dict[Path, dict[str, str]]:
    """Prune, drop worktrees a crash left half-created, delete directories git forgot.

    Call with the clone's lock held; returns the worktrees that remain registered.
    """
    await git.run("worktree", "prune", what="worktree prune")
    registered = await worktrees(git)
    for path, info in list(registered.items()):
        # `git worktree add` locks a new worktree "initializing" until its checkout finished.
        if info.get("locked") == "initializing" and path.is_relative_to(worktrees_dir):
            log.warning("workspace.half_created_worktree_removed", extra={"path": str(path)})
            args = ("worktree", "remove", "--force", "--force", str(path))
            await git.run(*args, what=f"removing half-created worktree {path}")
            del registered[path]
    tickets = worktrees_dir / "ticket"
    for path in sorted(tickets.iterdir()) if tickets.is_dir() else ():
        if path not in registered:
            await asyncio.to_thread(remove_tree, path)
    return registered


async def worktrees(git: Git) -> dict[Path, dict[str, str]]:
    """Registered worktrees by path, with their porcelain fields (`branch`, `locked`)."""
    listing = await git.run("worktree", "list", "--porcelain", "-z", what="worktree list")
    records = (r.strip("\0").split("\0") for r in listing.output.split("\0\0"))
    fields = (dict(f.partition(" ")[::2] for f in record if f) for record in records)
    return {Path(f["worktree"]): f for f in fields if "worktree" in f}


def remove_tree(path: Path) -> None:
    """Delete a directory git no longer tracks (run in a thread: node_modules is large)."""
    if path.is_dir() and not path.is_symlink():
        log.warning("workspace.leftover_removed", extra={"path": str(path)})
        shutil.rmtree(path)
