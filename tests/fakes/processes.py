"""Process trees read from /proc: who descends from a process, how much memory they hold, and
killing all of them at once, as a container or a cgroup kill would.

Commands the service runs (git, gh, lint, test) get sessions of their own, so killing the
service's process group alone would leave them running; these helpers follow parent links instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

PROC = Path("/proc")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:  # the process ended while we looked
        return ""


def parent_of(pid: int) -> int | None:
    stat = _read(PROC / str(pid) / "stat")
    if not stat:
        return None
    # `pid (comm) state ppid ...`: comm may contain spaces and parentheses.
    return int(stat.rpartition(")")[2].split()[1])


def _all_pids() -> Iterator[int]:
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def descendants(pid: int) -> list[int]:
    """Every living process below `pid` (not `pid` itself), parents before children."""
    children: dict[int, list[int]] = {}
    for candidate in _all_pids():
        parent = parent_of(candidate)
        if parent is not None:
            children.setdefault(parent, []).append(candidate)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            found.append(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    return _read(PROC / str(pid) / "cmdline").replace("\0", " ").strip()


def processes_mentioning(text: str) -> list[str]:
    """Command lines of living processes that contain `text` (this process excluded)."""
    found = []
    for pid in _all_pids():
        if pid != os.getpid() and text in (line := command_line(pid)):
            state = _read(PROC / str(pid) / "stat").rpartition(")")[2].split()[:1]
            if state != ["Z"]:  # a zombie has already ended; only its exit status is left
                found.append(f"{pid}: {line}")
    return found


def processes_tagged(name: str, value: str) -> list[int]:
    """Living processes whose environment holds `name=value` (as `app.process.kill_tagged`)."""
    needle = f"{name}={value}".encode()
    found = []
    for pid in _all_pids():
        try:
            environ = (PROC / str(pid) / "environ").read_bytes()
        except OSError:  # ended meanwhile, or not ours to read
            continue
        state = _read(PROC / str(pid) / "stat").rpartition(")")[2].split()[:1]
        if needle in environ.split(b"\0") and state != ["Z"]:
            found.append(pid)
    return found


def kill_mentioning(text: str) -> None:
    """SIGKILL living processes whose command line contains `text` (a test's own leftovers)."""
    for entry in processes_mentioning(text):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(entry.partition(":")[0]), signal.SIGKILL)


def tree_memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB summed over `pid` and its descendants; PSS splits shared pages fairly."""
    rss = pss = 0
    for member in [pid, *descendants(pid)]:
        for line in _read(PROC / str(member) / "smaps_rollup").splitlines():
            name, _, value = line.partition(":")
            if name in ("Rss", "Pss"):
                kib = int(value.split()[0])
                rss += kib if name == "Rss" else 0
                pss += kib if name == "Pss" else 0
    return rss, pss


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and everything below it, without letting any of them fork meanwhile.

    Stopping first freezes the tree (a stopped process cannot start another), so the listing
    taken after it is complete; then every member is killed.
    """
    frozen: set[int] = set()
    while True:
        members = {pid, *descendants(pid)} - frozen
        if not members:
            break
        for member in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGSTOP)
        frozen |= members
    for member in frozen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
