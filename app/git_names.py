"""The names the service puts on git's command line, checked before they get there.

Branch and base names come from tickets and repository settings, commit ids from run records:
each must be exactly what it claims (never an option, a range or a path outside `refs/`).
"""

from __future__ import annotations

import re

from app.errors import WorkspaceError

BRANCH_PATTERN = re.compile(r"ticket/[a-z][a-z0-9_]+-[1-9][0-9]*")
BASE_PATTERN = re.compile(r"(?!-)(?!.*\.\.)(?!.*//)(?!.*\.lock$)[A-Za-z0-9._/-]+(?<![./])")
COMMIT_PATTERN = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
"""A full SHA-1 or SHA-256 object id."""


def check_branch(branch: str) -> str:
    if not BRANCH_PATTERN.fullmatch(branch):
        raise WorkspaceError(f"refusing branch {branch!r}: expected ticket/<key in lower case>")
    return branch


def check_base(base: str) -> str:
    if not BASE_PATTERN.fullmatch(base):
        raise WorkspaceError(f"refusing base branch {base!r}: not a plain branch name")
    return base


def check_commit(sha: str) -> str:
    if not COMMIT_PATTERN.fullmatch(sha):
        raise WorkspaceError(f"refusing commit {sha!r}: not a full commit id")
    return sha
