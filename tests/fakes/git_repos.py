"""Real git repositories for tests: a bare `origin` with commits, local repos, and readers.

Test setup runs git synchronously (it is not the code under test) with a fixed identity and no
user or system configuration, so a developer's ~/.gitconfig cannot change what tests see.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

AUTHOR = ("Test Author", "author@example.com")


def git(*args: str, cwd: Path) -> str:
    """Run git in `cwd` and return its stdout; raise with the output when it fails."""
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": AUTHOR[0],
        "GIT_AUTHOR_EMAIL": AUTHOR[1],
        "GIT_COMMITTER_NAME": AUTHOR[0],
        "GIT_COMMITTER_EMAIL": AUTHOR[1],
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def write_files(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make_repo(path: Path, files: Mapping[str, str] | None = None, *, branch: str = "main") -> Path:
    """A non-bare repository at `path` with one commit of `files` on `branch`."""
    path.mkdir(parents=True)
    git("init", "--quiet", f"--initial-branch={branch}", cwd=path)
    write_files(path, files or {"README.md": "# widgets\n"})
    git("add", "-A", cwd=path)
    git("commit", "--quiet", "-m", "initial commit", cwd=path)
    return path


def make_origin(
    tmp_path: Path, files: Mapping[str, str] | None = None, *, branch: str = "main"
) -> Path:
    """A bare repository `<tmp_path>/origin.git` whose HEAD is `branch`, holding `files`."""
    seed = make_repo(tmp_path / "origin-seed", files, branch=branch)
    origin = tmp_path / "origin.git"
    git("clone", "--quiet", "--bare", str(seed), str(origin), cwd=tmp_path)
    return origin


def push_commit(origin: Path, files: Mapping[str, str], *, branch: str, message: str) -> str:
    """Commit `files` on `branch` of `origin` as someone else would (through a clone); its sha."""
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        git("clone", "--quiet", str(origin), str(clone), cwd=Path(tmp))
        git("checkout", "--quiet", "-B", branch, f"origin/{branch}", cwd=clone)
        write_files(clone, files)
        git("add", "-A", cwd=clone)
        git("commit", "--quiet", "-m", message, cwd=clone)
        git("push", "--quiet", "origin", f"{branch}:{branch}", cwd=clone)
        return git("rev-parse", "HEAD", cwd=clone).strip()


def rev(repo: Path, ref: str) -> str | None:
    """The sha `ref` points to in `repo` (bare or not), or None when it does not exist."""
    try:
        return git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repo).strip()
    except AssertionError:
        return None


def commit_info(repo: Path, ref: str) -> dict[str, str]:
    """Author, committer and message of the commit at `ref`."""
    fields = ("author_name", "author_email", "committer_name", "committer_email", "message")
    out = git("log", "-1", "--format=%an%x00%ae%x00%cn%x00%ce%x00%B", ref, cwd=repo)
    return dict(zip(fields, out.rstrip("\n").split("\0"), strict=True))


def isolate_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's and the machine's git configuration out of a test."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
