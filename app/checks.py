"""The target repository's `.auto-code.toml`, its lint / test commands, and the gates that run them.

    max_fix_rounds = 2        # fix rounds per gate (default: the MAX_FIX_ROUNDS setting)
    base_branch = "develop"   # default: origin's HEAD
    [commands]                # each an argument list, or a string split like a shell would
    setup = "pnpm install --frozen-lockfile"
    lint = ["pnpm", "run", "lint"]
    test = ""                 # empty: no command, and none is detected
    [gates]                   # review / lint / test, all on by default
    review = false

A command that is not configured is detected from the repository (package.json scripts with the
lockfile's package manager, Makefile targets, ruff / pytest); a gate without a command is skipped.
Commands never run through a shell.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from app.errors import RepoConfigError
from app.git_names import BASE_PATTERN
from app.process import run_command

CONFIG_FILE = ".auto-code.toml"
COMMANDS = ("setup", "lint", "test")
GATES = ("review", "lint", "test")
MAX_FIX_ROUNDS = 10

Argv = tuple[str, ...]


@dataclass(frozen=True)
class RepoConfig:
    commands: Mapping[str, Argv] = field(default_factory=dict)
    """setup / lint / test; an empty tuple means "none, and do not detect one"."""
    gates: Mapping[str, bool] = field(default_factory=dict)
    max_fix_rounds: int = 2
    base_branch: str | None = None

    def gate_enabled(self, gate: str) -> bool:
        return self.gates.get(gate, True)

    def command(self, name: str) -> Argv | None:
        """The command of `setup`, `lint` or `test`; None when there is none or its gate is off."""
        return (self.commands.get(name) or None) if self.gate_enabled(name) else None


@dataclass(frozen=True)
class GateResult:
    name: str
    status: Literal["passed", "failed", "skipped"]
    exit_code: int | None
    output_tail: str
    duration_s: float
    command: Argv | None


def parse_repo_config(text: str, *, default_max_fix_rounds: int) -> RepoConfig:
    """Validate `.auto-code.toml`; RepoConfigError names the key that is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RepoConfigError(f"{CONFIG_FILE} is not valid TOML: {exc}") from None
    _known_keys(data, ("commands", "gates", "max_fix_rounds", "base_branch"), "")
    commands = {name: _argv(value, f"commands.{name}") for name, value in _table(data, "commands")}
    gates: dict[str, bool] = {}
    for name, value in _table(data, "gates"):
        if not isinstance(value, bool):
            raise RepoConfigError(f"{CONFIG_FILE}: gates.{name} must be true or false")
        gates[name] = value
    rounds = data.get("max_fix_rounds", default_max_fix_rounds)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 0 <= rounds <= MAX_FIX_ROUNDS:
        raise RepoConfigError(
            f"{CONFIG_FILE}: max_fix_rounds must be an integer from 0 to {MAX_FIX_ROUNDS}"
        )
    base = data.get("base_branch")
    if base is not None and not (isinstance(base, str) and BASE_PATTERN.fullmatch(base)):
        raise RepoConfigError(f"{CONFIG_FILE}: base_branch must be a branch name like 'main'")
    return RepoConfig(commands, gates, rounds, base)


def load_repo_config(worktree: Path, *, default_max_fix_rounds: int) -> RepoConfig:
    """The worktree's `.auto-code.toml` (if any), with commands it leaves out detected."""
    path = worktree / CONFIG_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    config = parse_repo_config(text, default_max_fix_rounds=default_max_fix_rounds)
    return replace(config, commands={**detect_commands(worktree), **config.commands})


def detect_commands(root: Path) -> dict[str, Argv]:
    """setup / lint / test commands from package.json, then the Makefile, then Python tooling."""
    found: dict[str, Argv] = {}
    for source in (_node(root), _make(root), _python(root)):
        for name, argv in source.items():
            found.setdefault(name, argv)
    return found


async def run_gate(
    name: str,
    argv: Sequence[str] | None,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
) -> GateResult:
    """Run one gate's command; no command means skipped, a timeout means failed."""
    if not argv:
        return GateResult(name, "skipped", None, "no command configured or detected", 0.0, None)
    result = await run_command(argv, cwd=cwd, timeout_s=timeout_s, env=env)
    output = result.tail()
    if result.timed_out:
        output += f"\n[auto-code] {name} timed out after {timeout_s:g}s and was killed\n"
    status = "passed" if result.ok else "failed"
    return GateResult(name, status, result.exit_code, output, result.duration_s, result.argv)


async def run_setup(
    config: RepoConfig, *, cwd: Path, env: Mapping[str, str], timeout_s: float
) -> GateResult:
    """Install the target's dependencies in a fresh worktree before its lint and tests run."""
    return await run_gate("setup", config.command("setup"), cwd=cwd, env=env, timeout_s=timeout_s)


def _table(data: dict[str, object], key: str) -> list[tuple[str, object]]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise RepoConfigError(f"{CONFIG_FILE}: [{key}] must be a table")
    _known_keys(table, COMMANDS if key == "commands" else GATES, f"{key}.")
    return list(table.items())


def _known_keys(table: dict[str, object], known: Sequence[str], prefix: str) -> None:
    for key in table:
        if key not in known:
            allowed = ", ".join(prefix + k for k in known)
            raise RepoConfigError(f"{CONFIG_FILE}: unknown key {prefix}{key} (allowed: {allowed})")


def _argv(value: object, key: str) -> Argv:
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError as exc:
            raise RepoConfigError(f"{CONFIG_FILE}: {key} cannot be split: {exc}") from None
    if isinstance(value, list) and all(isinstance(part, str) and part for part in value):
        return tuple(value)
    raise RepoConfigError(f"{CONFIG_FILE}: {key} must be a list of strings or a string")


def _node(root: Path) -> dict[str, Argv]:
    try:
        package = json.loads((root / "package.json").read_text(encoding="utf-8"))
        scripts = package.get("scripts") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    locks = {"pnpm-lock.yaml": "pnpm", "yarn.lock": "yarn", "package-lock.json": "npm"}
    lock = next((name for name in locks if (root / name).is_file()), None)
    declared = str(package.get("packageManager", "")).partition("@")[0]
    manager = locks[lock] if lock else declared if declared in locks.values() else "npm"
    found = {name: (manager, "run", name) for name in ("lint", "test") if name in scripts}
    if lock:  # without a lockfile an install would write one, and it would land in the commit
        found["setup"] = (
            ("npm", "ci") if manager == "npm" else (manager, "install", "--frozen-lockfile")
        )
    return found


def _make(root: Path) -> dict[str, Argv]:
    makefile = next(
        (root / n for n in ("GNUmakefile", "makefile", "Makefile") if (root / n).is_file()), None
    )
    text = makefile.read_text(encoding="utf-8", errors="replace") if makefile else ""
    return {
        name: ("make", name)
        for name in ("lint", "test")
        if re.search(rf"^{name}\s*:(?!=)", text, re.M)
    }


def _python(root: Path) -> dict[str, Argv]:
    markers = ("pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "requirements.txt")
    if not any((root / marker).is_file() for marker in markers):
        return {}
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8", errors="replace") if pyproject.is_file() else ""
    run: Argv = ("uv", "run", "--frozen") if (root / "uv.lock").is_file() else ()
    found: dict[str, Argv] = {"setup": ("uv", "sync", "--frozen")} if run else {}
    if "ruff" in text or (root / "ruff.toml").is_file() or (root / ".ruff.toml").is_file():
        found["lint"] = (*run, "ruff", "check", ".")
    if "[tool.pytest" in text or (root / "pytest.ini").is_file() or (root / "tests").is_dir():
        found["test"] = (*run, "python", "-m", "pytest", "-q")
    return found
