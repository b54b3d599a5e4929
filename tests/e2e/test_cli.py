"""`auto-code run KEY`: one ticket through the same pipeline from the shell, stage by stage."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.world import FIRST_DRAFT, FIX_ALL, Behaviour, World, says, world_fixture, writes
from tests.fakes.git_repos import rev
from tests.fakes.service import VENV_BIN

world = world_fixture("cli", scope="function")


def run_cli(
    world: World, workspace: Path, *args: str, **settings: str
) -> subprocess.CompletedProcess:
    workspace.mkdir(parents=True, exist_ok=True)
    world.model.workspaces.append(workspace)
    return subprocess.run(
        [str(VENV_BIN / "auto-code"), "run", *args],
        env=world.service_env(workspace, **settings),
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_run_prints_each_stage_and_exits_zero_on_success(world: World, tmp_path: Path) -> None:
    world.model.add("CLI-1", Behaviour(writes(FIRST_DRAFT), fixes=FIX_ALL))
    description = tmp_path / "ticket.txt"
    description.write_text("h2. Goal\nGreet the *world*.\n")
    done = run_cli(
        world,
        tmp_path / "ws",
        "CLI-1",
        "--summary",
        "Greet the world",
        "--description-file",
        str(description),
    )

    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    stages = [line.split()[0] for line in lines if line.startswith("  ") and ":" not in line]
    assert stages[:3] == ["workspace", "setup", "implement"]
    assert stages[3:-3] == [
        "review", "fix_review#1", "review#1", "lint", "fix_lint#1", "lint#1",
        "test", "fix_test#1", "test#1",
    ]  # fmt: skip
    assert stages[-3:] == ["commit", "push", "pull_request"]
    assert any("succeeded" in line for line in lines)
    assert any("pr_url: https://github.com/acme/widgets/pull/" in line for line in lines)
    assert rev(world.origin, "ticket/cli-1") is not None


def test_run_exits_non_zero_when_the_run_fails(world: World, tmp_path: Path) -> None:
    world.model.add("CLI-2", Behaviour(says("done")))
    done = run_cli(
        world, tmp_path / "ws", "CLI-2", "--summary", "x", REPO_URL=str(tmp_path / "gone")
    )
    assert done.returncode == 1
    assert "failed" in done.stdout
    assert "error:" in done.stdout


def test_run_rejects_a_bad_key_before_doing_anything(world: World, tmp_path: Path) -> None:
    done = run_cli(world, tmp_path / "ws", "not-a-key", "--summary", "x")
    assert done.returncode == 2
    assert "PROJ-123" in done.stderr
