"""Setup: the shared clone's fetch + a ticket's worktree on a large repository, against the
alternatives a service without a shared clone has.

The repository is generated once (git fast-import; cached in bench/out/): 20,000 files of
~1 KiB in 200 packages, 5,000 commits on top. Measured, each as the median of REPEAT runs with
a warm page cache:

- auto-code: `Workspace.sync()` (prune, fetch) then `create_worktree()` for a new ticket branch,
  the code the workspace stage runs, once the shared clone exists;
- `git clone` of the origin (local: hardlinked objects, the cheapest clone there is) and
  `git clone --no-local` (objects copied through a pack, as over a network);
- `git archive | tar -x` of the same tree: only writing the files, the floor.

Target: the worktree within 1.5x of the floor.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from app.workspace import Workspace
from bench.record import OUT, machine, median, record

FILES = 20_000
COMMITS = 5_000
PACKAGES = 200
REPEAT = int(os.environ.get("SETUP_REPEAT", "5"))
GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(*args: str, cwd: Path, stdin: bytes | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, input=stdin, capture_output=True, timeout=900
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {result.stderr.decode()[-2000:]}")
    return result.stdout.decode()


def module(package: int, number: int, revision: int = 0) -> bytes:
    lines = [f'"""Module {number} of package {package}."""', ""]
    lines += [f"def function_{i}(value):\n    return value * {i} + {revision}\n" for i in range(24)]
    return "\n".join(lines).encode()


def fast_import_stream() -> bytes:
    """One commit adding FILES files, then COMMITS commits each changing one of them."""
    per_package = FILES // PACKAGES
    parts: list[bytes] = []

    def commit(mark: int, message: str, changes: list[tuple[str, bytes]]) -> None:
        header = (
            f"commit refs/heads/main\nmark :{mark}\n"
            f"committer Bench <bench@example.com> {1_700_000_000 + mark} +0000\n"
            f"data {len(message)}\n{message}\n"
        )
        parts.append(header.encode())
        if mark > 1:
            parts.append(f"from :{mark - 1}\n".encode())
        for path, content in changes:
            parts.append(f"M 100644 inline {path}\ndata {len(content)}\n".encode())
            parts.append(content + b"\n")
        parts.append(b"\n")

    files = [
        (f"src/pkg{p:03d}/mod{m:03d}.py", module(p, m))
        for p in range(PACKAGES)
        for m in range(per_package)
    ]
    commit(1, "initial import", [*files, ("README.md", b"# generated\n")])
    for n in range(1, COMMITS + 1):
        p, m = n % PACKAGES, (n * 7) % per_package
        commit(n + 1, f"change {n}", [(f"src/pkg{p:03d}/mod{m:03d}.py", module(p, m, n))])
    return b"".join(parts)


def large_origin(root: Path) -> Path:
    """The generated bare repository, made once and kept under bench/out/."""
    origin = root / "large-origin.git"
    if (origin / "refs" / "heads" / "main").exists() or (origin / "packed-refs").exists():
        return origin
    shutil.rmtree(origin, ignore_errors=True)
    origin.mkdir(parents=True)
    git("init", "--quiet", "--bare", "--initial-branch=main", cwd=origin)
    print(f"generating {FILES} files and {COMMITS} commits (once) ...", flush=True)
    git("fast-import", "--quiet", cwd=origin, stdin=fast_import_stream())
    git("gc", "--quiet", cwd=origin)
    return origin


def timed(action: Callable[[], object], reset: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(REPEAT):
        reset()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def archive(origin: Path, target: Path) -> None:
    target.mkdir(parents=True)
    tar = subprocess.Popen(["tar", "-x", "-C", str(target)], stdin=subprocess.PIPE)
    assert tar.stdin is not None
    subprocess.run(
        ["git", "archive", "--format=tar", "main"],
        cwd=origin,
        env=GIT_ENV,
        stdout=tar.stdin,
        check=True,
        timeout=900,
    )
    tar.stdin.close()
    if tar.wait(timeout=900) != 0:
        raise RuntimeError("tar failed")


def main() -> None:
    started = machine()
    root = OUT / "repo_setup"
    root.mkdir(parents=True, exist_ok=True)
    origin = large_origin(root)
    files = len(git("ls-tree", "-r", "--name-only", "main", cwd=origin).splitlines())
    commits = int(git("rev-list", "--count", "main", cwd=origin).strip())
    scratch = root / "scratch"

    def clear() -> None:
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)

    floor = timed(lambda: archive(origin, scratch / "tree"), clear)
    clone_local = timed(lambda: git("clone", "--quiet", str(origin), "c", cwd=scratch), clear)
    clone_pack = timed(
        lambda: git("clone", "--quiet", "--no-local", str(origin), "c", cwd=scratch), clear
    )

    workspace_root = root / "workspace"
    shutil.rmtree(workspace_root, ignore_errors=True)
    workspace = Workspace(
        workspace_root,
        repo_url=str(origin),
        repo_dir=None,
        gh_token=None,
        timeout_s=900,
        author_name="bench",
        author_email="bench@example.com",
    )
    os.environ.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    start = time.perf_counter()
    asyncio.run(workspace.sync())
    first_clone = time.perf_counter() - start

    tickets = iter(range(1, REPEAT + 1))
    fetches: list[float] = []

    async def ticket() -> None:
        begin = time.perf_counter()
        await workspace.sync()
        fetches.append(time.perf_counter() - begin)
        base_commit = await workspace.base_commit("main")
        await workspace.create_worktree(
            branch=f"ticket/bench-{next(tickets)}", base_commit=base_commit
        )

    def remove_worktrees() -> None:
        for path in (workspace_root / "worktrees" / "ticket").glob("*"):
            asyncio.run(workspace.remove_worktree(path))

    ours = timed(lambda: asyncio.run(ticket()), remove_worktrees)
    remove_worktrees()

    ratio = median(ours) / median(floor)
    rows = [
        ["`git archive` piped to `tar -x` (floor)", f"{median(floor):.2f} s", "1.00x"],
        ["auto-code: fetch + worktree", f"{median(ours):.2f} s", f"{ratio:.2f}x"],
        ["`git clone` (local, hardlinks)", f"{median(clone_local):.2f} s",
         f"{median(clone_local) / median(floor):.2f}x"],
        ["`git clone --no-local` (pack)", f"{median(clone_pack):.2f} s",
         f"{median(clone_pack) / median(floor):.2f}x"],
    ]  # fmt: skip
    record(
        f"Setup: fetch + worktree on {files:,} files and {commits:,} commits",
        ["what", f"median of {REPEAT}", "vs floor"],
        rows,
        machine=started,
        notes=(
            f"Worktree / floor: **{ratio:.2f}x** (target ≤ 1.5x). Of auto-code's time, the "
            f"sync (prune + fetch with nothing new) is {median(fetches):.2f} s. The shared "
            f"clone itself (`git clone --no-checkout`, once per workspace) took "
            f"{first_clone:.2f} s."
        ),
    )
