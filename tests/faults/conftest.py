"""Fault injection around the real service: points where a run can be made to stop and wait, and
checks that a run left nothing behind (git locks, worktrees, processes)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.world import TARGET_FILES, World, world_fixture
from tests.fakes.service import Service

FAULT_FILES = {
    **TARGET_FILES,
    ".auto-code.toml": TARGET_FILES[".auto-code.toml"] + "[gates]\nreview = false\n",
}
"""The end-to-end target repository without the review gate: one agent session per run."""


world = world_fixture("faults", files=FAULT_FILES)


@dataclass(frozen=True)
class PushHold:
    """Origin's pre-receive hook stalls a push of a matching ref while `flag` exists, like a remote
    that stops answering mid-push: the commit is made, the push has not landed."""

    flag: Path
    entered: Path

    def arm(self, ref: str) -> None:
        self.entered.unlink(missing_ok=True)
        self.flag.write_text(ref)

    def reached(self) -> bool:
        return self.entered.exists()

    def release(self) -> None:
        self.flag.unlink(missing_ok=True)


def install_push_hold(origin: Path) -> PushHold:
    hold = PushHold(origin.parent / "push-hold", origin.parent / "push-held")
    flag, entered = shlex.quote(str(hold.flag)), shlex.quote(str(hold.entered))
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "refs=$(cat)\n"
        f'held() {{ printf %s "$refs" | grep -q -F -e "$(cat {flag} 2>/dev/null)"; }}\n'
        f"while [ -e {flag} ] && held; do\n"
        f"  touch {entered}\n"
        "  sleep 0.05\n"
        "done\n"
    )
    hook.chmod(0o755)
    return hold


@dataclass(frozen=True)
class GhHold:
    """`gh` calls starting with the armed text wait while the hold is armed (see the gh shim)."""

    flag: Path

    def arm(self, prefix: str) -> None:
        self.flag.write_text(prefix)

    def release(self) -> None:
        self.flag.unlink(missing_ok=True)


def leftover_locks(workspace: Path) -> list[str]:
    """Lock files a killed git left in the shared clone (refs, index, config, worktree locks)."""
    git_dir = workspace / "repo" / ".git"
    found = [*git_dir.rglob("*.lock"), *git_dir.glob("worktrees/*/locked")]
    return sorted(str(path.relative_to(git_dir)) for path in found)


def gh_called(world: World, *prefix: str) -> bool:
    return any(call["argv"][: len(prefix)] == list(prefix) for call in world.gh.calls())


def log_events(service: Service, event: str) -> list[dict]:
    """The service's JSON log lines (over all its restarts) whose event is `event`."""
    found = []
    for line in service.logs().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == event:
            found.append(entry)
    return found
