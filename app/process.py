"""Run external commands (git, gh, lint, test) as argument lists with a timeout.

Every command run inside a pipeline stage is appended to `command_log` when a stage has set it,
so the run record shows exactly what ran, for how long, and what it printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

OUTPUT_LIMIT = 64_000
"""Characters of combined stdout/stderr kept per command (the tail)."""

command_log: ContextVar[list[CommandResult] | None] = ContextVar("command_log", default=None)


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    cwd: str
    exit_code: int | None
    output: str
    duration_s: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def tail(self, limit: int = 4_000) -> str:
        """The last `limit` characters of the output, cut at a line start when possible."""
        if len(self.output) <= limit:
            return self.output
        cut = self.output[-limit:]
        newline = cut.find("\n")
        return cut[newline + 1 :] if 0 <= newline < limit // 2 else cut

    def describe(self) -> str:
        """One line for errors and logs: the command and how it ended."""
        how = "timed out" if self.timed_out else f"exited {self.exit_code}"
        return f"`{' '.join(self.argv)}` {how} after {self.duration_s:.1f}s"

    def to_record(self) -> dict[str, object]:
        return {
            "argv": list(self.argv),
            "cwd": self.cwd,
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "duration_s": round(self.duration_s, 3),
            "output_tail": self.tail(),
        }


def kill_tagged(name: str, value: str) -> int:
    """SIGKILL every process whose environment holds `name=value`; how many were found.

    A command can leave processes behind in sessions of their own (`nohup server &`, a daemon),
    out of reach of a process-group kill; the variable they inherited still finds them. Reads
    /proc (Linux); elsewhere it finds nothing. Repeats until no tagged process is left, so one
    that forked during a pass is found in the next.
    """
    needle = f"{name}={value}".encode()
    killed: set[int] = set()
    for _ in range(10):
        found = [pid for pid in _pids() if needle in _environ(pid).split(b"\0")]
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
    return len(killed)


def _pids() -> list[int]:
    proc = Path("/proc")
    return (
        [int(entry.name) for entry in proc.iterdir() if entry.name.isdigit()]
        if proc.is_dir()
        else []
    )


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # ended meanwhile, or not ours to read
        return b""


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> CommandResult:
    """Run `argv` in `cwd` (fed `stdin`, else no input); on timeout or cancellation kill its
    whole process group.

    The child gets its own session so that a hung test runner and everything it spawned die
    together. A missing executable is reported as exit code 127, like a shell would.
    """
    start = time.monotonic()
    argv = tuple(str(a) for a in argv)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        result = CommandResult(argv, str(cwd), 127, f"{exc}\n", time.monotonic() - start)
        _record(result)
        return result

    timed_out = False
    try:
        stdout, _ = await asyncio.wait_for(proc.communicate(stdin), timeout_s)
    except TimeoutError:
        timed_out = True
        _kill_group(proc.pid)
        stdout = await _drain(proc)
    except asyncio.CancelledError:
        _kill_group(proc.pid)
        raise
    # Children that outlive the command (daemons a test started) must not outlive the stage.
    _kill_group(proc.pid)
    output = stdout.decode("utf-8", errors="replace")[-OUTPUT_LIMIT:]
    result = CommandResult(
        argv, str(cwd), proc.returncode, output, time.monotonic() - start, timed_out
    )
    _record(result)
    return result


async def _drain(proc: asyncio.subprocess.Process) -> bytes:
    """Whatever the killed process had printed, without waiting on pipes held by escapees."""
    assert proc.stdout is not None
    chunks: list[bytes] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2):
            while chunk := await proc.stdout.read(65536):
                chunks.append(chunk)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), 5)
    return b"".join(chunks)


def _record(result: CommandResult) -> None:
    log = command_log.get()
    if log is not None:
        log.append(result)
