"""Where results go: printed, and appended to bench/RESULTS.md with the machine they ran on."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from app import __version__

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
OUT = BENCH_DIR / "out"
"""Scratch space (git-ignored): generated repositories, workspaces, logs."""


def fresh_output(name: str) -> Path:
    """`OUT/<name>`, emptied: each benchmark starts from nothing left by its last run."""
    root = OUT / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    return root


def _first(path: str, prefix: str) -> str:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return "?"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(prefix)), "?")


def _command(*argv: str) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine() -> str:
    """One line: cores, memory, CPU, load before the run, and the versions that matter."""
    kib = _first("/proc/meminfo", "MemTotal").split()[0]
    memory = f"{int(kib) / 1024 / 1024:.1f} GiB" if kib.isdigit() else "?"
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    commit = _command("git", "-C", str(BENCH_DIR), "rev-parse", "--short", "HEAD")
    git = _command("git", "--version").removeprefix("git version ")
    return (
        f"{os.cpu_count()} cores, {memory}, {_first('/proc/cpuinfo', 'model name')}; "
        f"load average {load} (1/5/15 min, before the run); Python {platform.python_version()}, "
        f"git {git}; auto-code {__version__} at {commit} (with uncommitted changes, if any)"
    )


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0..1) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def median(values: list[float]) -> float:
    return statistics.median(values)


def record(
    title: str, header: list[str], rows: list[list[str]], *, machine: str, notes: str = ""
) -> None:
    """Print a table of figures and append it, dated and with the machine (`machine()` taken
    before the run), to RESULTS.md."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {title} ({when})",
        "",
        f"Machine: {machine}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]
    if notes:
        lines += [notes.strip(), ""]
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppended by `make bench`, newest last.\n\n")
    with RESULTS.open("a", encoding="utf-8") as results:
        results.write(text)
