"""A tool call as the guard judges it, and the scope it is judged in.

`Scope` is fixed per session: the worktree, the mode (implement or read-only review), the
deployment's `Policy` and the home directories whose credential locations are protected.
`ToolCall` adds what one call is about: the resolved path of a file tool, or the commands and
the files written by a Bash command (see `app.agent.shell`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app.agent import shell

if TYPE_CHECKING:
    from app.config import Settings

Mode = Literal["implement", "review"]

READ_TOOLS = ("Read", "Glob", "Grep")
WRITE_TOOLS = ("Write", "Edit", "NotebookEdit")
IMPLEMENT_TOOLS = (*READ_TOOLS, *WRITE_TOOLS, "Bash")
"""Offered to the implementation session (`tools=`). Left out: web tools (network), Task and
other agent/scheduling tools (unbounded side work); the guard denies them if called anyway."""
REVIEW_TOOLS = READ_TOOLS
STRUCTURED_OUTPUT_TOOL = "StructuredOutput"
"""The CLI's synthetic tool for `output_format`: the model calls it with the JSON result."""

CREDENTIAL_LOCATIONS = (
    ".config/gh",
    ".ssh",
    ".claude/.credentials.json",
    ".claude.json",
    ".git-credentials",
    ".config/git/credentials",
    ".netrc",
    ".docker/config.json",
)
"""Where gh, ssh, Claude Code, git and docker keep credentials, under a home directory."""
CI_DIRECTORIES = (".github/workflows", ".github/actions")
WRITABLE_OUTSIDE = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/")
_HOME_VARIABLE = re.compile(r"^\$(?:HOME\b|\{HOME\})")


@dataclass(frozen=True)
class Policy:
    """What a deployment adds to the rules; built from settings with `from_settings`."""

    deny_commands: tuple[str, ...] = ()
    """Commands the agent's Bash may not run: the leading words, each a shell glob."""
    allow_workflow_edits: bool = False
    protected: tuple[Path, ...] = ()
    """Files never read or written besides CREDENTIAL_LOCATIONS: the service's `.env`."""
    sandbox: bool = False
    """Run the agent's Bash in the CLI's bubblewrap sandbox (see `app.agent.options`)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            deny_commands=tuple(settings.agent_deny_commands),
            allow_workflow_edits=settings.allow_workflow_edits,
            # Where Settings read it: `.env` in the service's working directory.
            protected=(Path(".env").resolve(),),
            sandbox=settings.agent_sandbox,
        )


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Scope:
    """Where a session works and what it must not touch."""

    worktree: Path
    mode: Mode = "implement"
    policy: Policy = DEFAULT_POLICY
    homes: tuple[Path, ...] = ()
    """Home directories whose credential locations are protected (the agent's and ours)."""

    @cached_property
    def protected(self) -> tuple[Path, ...]:
        under_homes = (_resolve(h / name) for h in self.homes for name in CREDENTIAL_LOCATIONS)
        return (*filter(None, under_homes), *self.policy.protected)

    def is_credential(self, path: Path) -> bool:
        """A credential location, or a process environment (`/proc/<pid>/environ`)."""
        if path.parts[:2] == ("/", "proc") and path.name == "environ":
            return True
        return any(path == p or path.is_relative_to(p) for p in self.protected)

    def is_ci_definition(self, path: Path) -> bool:
        if not path.is_relative_to(self.worktree):
            return False
        relative = path.relative_to(self.worktree).as_posix()
        return any(relative == d or relative.startswith(d + "/") for d in CI_DIRECTORIES)


@dataclass(frozen=True)
class ToolCall:
    """One call the model wants to make, with what the rules need to judge it."""

    tool: str
    input: dict[str, Any]
    scope: Scope
    session_dir: Path | None = None
    cwd: Path | None = None
    """The Bash tool's working directory when the call was made (the worktree or below)."""

    @property
    def worktree(self) -> Path:
        return self.scope.worktree

    @cached_property
    def path(self) -> Path | None:
        """The file or directory a file tool acts on, resolved."""
        raw = self.input.get("file_path") or self.input.get("notebook_path")
        if raw is None and self.tool in ("Glob", "Grep"):
            raw = self.input.get("path") or str(self.worktree)
        return self.resolve(raw, self.worktree) if isinstance(raw, str) and raw else None

    @property
    def command(self) -> str:
        return str(self.input.get("command", ""))

    @cached_property
    def commands(self) -> list[shell.Command]:
        return list(shell.commands(self.command))

    @cached_property
    def write_targets(self) -> list[Path]:
        """The files a Bash call writes, where the text shows them (resolved)."""
        targets: list[Path] = []
        base: Path | None = self.cwd or self.worktree
        for command in self.commands:
            if command.name in ("cd", "pushd"):
                where = command.argv[1] if len(command.argv) > 1 else "~"
                base = self.resolve(where, base)
                continue
            for word in (*command.writes, *shell.written_files(command.argv)):
                if _writable_outside(word):
                    continue
                path = self.resolve(word, base)
                if path is not None:
                    targets.append(path)
        return targets

    def resolve(self, word: str, base: Path | None) -> Path | None:
        """`word` as a path from `base`, with `~` and `$HOME` as the agent's home; None when
        the shell would expand something we cannot know."""
        word = _HOME_VARIABLE.sub("~", word)
        if not word or "$" in word or "`" in word:
            return None
        if word == "~" or word.startswith("~/"):
            home = self.scope.homes[0] if self.scope.homes else Path.home()
            word = str(home) + word[1:]
        path = Path(word)
        if not path.is_absolute():
            if base is None:
                return None
            path = base / path
        return _resolve(path)


def _resolve(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # a loop of links, a NUL byte
        return None


def _writable_outside(word: str) -> bool:
    normal = os.path.normpath(word) if word.startswith("/") else word
    return any(normal == w or (w.endswith("/") and normal.startswith(w)) for w in WRITABLE_OUTSIDE)
