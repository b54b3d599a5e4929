"""The one way the service runs git, in an environment where the agent's writes stay inert.

The agent's programs run as the service's user, so they can write anything git reads: the shared
clone's `.git/config`, a worktree's `.git` file, `~/.gitconfig`. Every command therefore runs
as an argument list with a timeout, without prompts, in the C locale (messages are parsed), with
hooks, fsmonitor, signing and submodule recursion off on the command line (which wins over any
file), without replacement refs (`refs/replace/*` would let a planted ref stand in for the run's
base commit in a diff, while a push still sends the real objects), and without the locator
variables (GIT_DIR...) of our own environment.

The managed clone (REPO_URL) is the service's own, so on top of that:
- git reads no global or system configuration (`~/.gitconfig`, `~/.config/git/config`,
  `/etc/gitconfig`);
- git is told where the repository is (GIT_DIR; for a worktree also GIT_COMMON_DIR and
  GIT_WORK_TREE, found from the clone's own records), so it never reads a worktree's `.git`
  file nor searches parent directories;
- only REPO_URL's transport is allowed (`protocol.*.allow`), which keeps `ext::` and `fd::` URLs
  off even if a bad configuration got past the check below;
- before each command the clone's `.git/config` is checked against `app.git_config`: anything
  more fails the command (`WorkspaceError`) before git starts, and `restore_config` (run by each
  sync) writes the file back, so one hostile ticket does not stop the next. The bytes last found
  clean are remembered: the file is parsed again only when it changed.

Commands that talk to origin (`net`) run in the clone, never in a worktree. The token reaches
them only for an http(s) REPO_URL: in their environment, read by a credential helper given on
the command line after every other helper is reset, and scoped to REPO_URL's scheme://host, so
a URL rewritten to another host gets nothing. Never in `.git/config`, a URL, an argument or a log.

A REPO_DIR is a person's own repository: their configuration applies and git finds the
repository as usual.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from app import git_config
from app.environment import child_env
from app.errors import TamperingError, WorkspaceError
from app.process import OUTPUT_LIMIT, CommandResult, run_command

log = logging.getLogger(__name__)

TOKEN_ENV = "AUTO_CODE_GIT_TOKEN"  # noqa: S105 (the name of the variable, not a token)
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; echo username=x-access-token; '
    f'echo "password=${TOKEN_ENV}"; }}; f'
)
_SAFE_CONFIG = (
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("commit.gpgSign", "false"),
    ("push.gpgSign", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("push.recurseSubmodules", "no"),
)
_TRANSPORTS = ("file", "git", "ssh", "http", "https", "ftp", "ftps", "ext", "fd")
_LOCATOR_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_NAMESPACE")
"""Variables that would point git at another repository (set when we run inside a git hook)."""
_NO_USER_CONFIG = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
_CONFIG_LIMIT = 64 * 1024
"""Bytes of `.git/config` worth reading: the service's own is a few hundred."""


def transport(url: str) -> str:
    """The transport git uses for `url`, as `protocol.<name>.allow` names it."""
    if "://" in url:
        scheme = urlsplit(url).scheme.lower()
        return "ssh" if scheme in ("git+ssh", "ssh+git") else scheme
    if "::" in url:
        return url.partition("::")[0]
    return "ssh" if ":" in url.partition("/")[0] else "file"


class Git:
    """git for one repository: the managed clone when `repo_url` is set, else a REPO_DIR."""

    def __init__(
        self, repo: Path, *, repo_url: str | None, token: str | None, timeout_s: float
    ) -> None:
        self.repo = repo
        self.git_dir = repo / ".git"
        self.repo_url = repo_url
        self.timeout_s = timeout_s
        self._token = token
        self._verified: bytes | None = None
        self._config = list(_SAFE_CONFIG)
        self._credential_key = "credential.helper" if token else None
        if repo_url:
            allowed = transport(repo_url)
            self._config.append(("protocol.allow", "never"))
            for name in dict.fromkeys((*_TRANSPORTS, allowed)):
                self._config.append(
                    (f"protocol.{name}.allow", "always" if name == allowed else "never")
                )
            host = urlsplit(repo_url).netloc.rpartition("@")[2]
            http = bool(token) and allowed in ("http", "https")
            self._credential_key = f"credential.{allowed}://{host}.helper" if http else None

    def has_git_dir(self) -> bool:
        """The managed clone's `.git` is a directory (a file or link there is not ours)."""
        return self.git_dir.is_dir() and not self.git_dir.is_symlink()

    async def run(
        self,
        *args: str,
        what: str = "",
        worktree: Path | None = None,
        net: bool = False,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run git in the shared clone, or in `worktree`; `net` commands get the token."""
        if net and worktree is not None:
            raise ValueError("commands that talk to origin run in the shared clone")
        extra = dict(env or {})
        if self.repo_url:
            # Without a clone there is nothing to check, and with GIT_DIR git finds no other.
            if self.git_dir.exists() or self.git_dir.is_symlink():
                await self._check_config()
            extra.update(self._locate(worktree))
        command_env = self._env(net=net, extra=extra)
        cwd = worktree or self.repo
        return await self._run(args, cwd=cwd, env=command_env, what=what, check=check)

    async def clone(self, dest: Path) -> None:
        """Clone REPO_URL into `dest` without a checkout (worktrees have the files)."""
        if self.repo_url is None:
            raise ValueError("only the managed clone is cloned")
        args = ("clone", "--no-checkout", "--", self.repo_url, str(dest))
        env = self._env(net=True, extra={})
        await self._run(args, cwd=dest.parent, env=env, what="clone of REPO_URL")

    async def restore_config(self) -> list[str]:
        """Write the managed clone's `.git/config` back when it holds more than git and the
        service wrote there; the keys that were wrong (logged as a warning), else nothing."""
        if self.repo_url is None or not self.has_git_dir():
            return []
        entries, wrong = await self._inspect()
        if not wrong:
            return []
        path = self.git_dir / "config"
        log.warning("workspace.git_config_restored", extra={"path": str(path), "keys": wrong})
        partial = self.git_dir / "config.auto-code"
        partial.unlink(missing_ok=True)
        for key, value in git_config.restored(entries, self.repo_url):
            args = ("config", "--file", str(partial), "--add", key, value)
            await self._run(args, cwd=self.repo, env=self._standalone_env(), what="git config")
        partial.replace(path)
        return wrong

    async def _check_config(self) -> None:
        """Refuse to run git on a clone whose configuration is not what the service wrote."""
        _, wrong = await self._inspect()
        if wrong:
            path = self.git_dir / "config"
            log.warning("workspace.git_config_refused", extra={"path": str(path), "keys": wrong})
            raise TamperingError(
                "the shared clone's git configuration was changed outside the service: "
                f"{', '.join(wrong)} ({path}). git was not run (the GitHub token was not handed "
                "out); the next run's sync restores the file."
            )

    async def _inspect(self) -> tuple[list[git_config.Entry], list[str]]:
        """The clone's configuration as git reads it, and what in it the service did not write."""
        if not self.has_git_dir():
            return [], [f"{self.git_dir} (not a directory)"]
        path = self.git_dir / "config"
        if not path.is_file():  # missing, or a pipe that would block the reader
            return [], git_config.unexpected([], self.repo_url or "")
        if path.stat().st_size > _CONFIG_LIMIT:
            return [], [f"{path.name} (larger than {_CONFIG_LIMIT} bytes)"]
        data = path.read_bytes()
        if data == self._verified:
            return [], []
        args = ("config", "--file", "-", "--list", "-z")
        env = self._standalone_env()
        listing = await self._run(args, cwd=self.repo, env=env, stdin=data, check=False)
        if not listing.ok or len(listing.output) >= OUTPUT_LIMIT:  # cut: not all of it
            return [], [f"{path.name} (git cannot read it)"]
        entries = git_config.parse_listing(listing.output)
        wrong = git_config.unexpected(entries, self.repo_url or "")
        if not wrong:
            self._verified = data
        return entries, wrong

    def _locate(self, worktree: Path | None) -> dict[str, str]:
        """Where the repository is, for git not to look: the clone, or a worktree's
        administrative directory (the clone's record of it, not the worktree's `.git` file)."""
        if worktree is None:
            return {"GIT_DIR": str(self.git_dir)}
        pointer = str(worktree / ".git")
        records = self.git_dir / "worktrees"
        for admin in sorted(records.iterdir()) if records.is_dir() else ():
            gitdir = admin / "gitdir"
            if gitdir.is_file() and gitdir.read_text(errors="replace").strip() == pointer:
                return {
                    "GIT_DIR": str(admin),
                    "GIT_COMMON_DIR": str(self.git_dir),
                    "GIT_WORK_TREE": str(worktree),
                }
        raise WorkspaceError(f"{worktree} is not a worktree of the shared clone {self.repo}")

    def _env(self, *, net: bool, extra: dict[str, str]) -> dict[str, str]:
        env = child_env({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_NO_REPLACE_OBJECTS": "1"})
        for name in _LOCATOR_ENV:
            env.pop(name, None)
        if self.repo_url:
            env.update(_NO_USER_CONFIG)
        env.update(extra)
        config = list(self._config)
        if net and self._credential_key and self._token:
            # An empty value resets the helpers of every scope read before the command line.
            config += [("credential.helper", ""), (self._credential_key, _CREDENTIAL_HELPER)]
            env[TOKEN_ENV] = self._token
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for i, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"] = key, value
        return env

    def _standalone_env(self) -> dict[str, str]:
        """For `git config --file`: no repository (GIT_DIR=/dev/null), no user configuration."""
        return child_env({"LC_ALL": "C", **_NO_USER_CONFIG, "GIT_DIR": os.devnull})

    async def _run(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        what: str = "",
        check: bool = True,
        stdin: bytes | None = None,
    ) -> CommandResult:
        argv = ["git", *args]
        result = await run_command(argv, cwd=cwd, timeout_s=self.timeout_s, env=env, stdin=stdin)
        if check and not result.ok:
            message = f"{what or 'git ' + args[0]} failed: {result.describe()}\n{result.tail(2000)}"
            raise WorkspaceError(message, result=result)
        return result
