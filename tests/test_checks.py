"""`.auto-code.toml`, command detection, and the gates that run lint and tests."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from app.checks import (
    RepoConfig,
    detect_commands,
    load_repo_config,
    parse_repo_config,
    run_gate,
    run_setup,
)
from app.environment import child_env
from app.errors import RepoConfigError
from tests.fakes.git_repos import write_files


def parse(text: str) -> RepoConfig:
    return parse_repo_config(text, default_max_fix_rounds=2)


class TestRepoConfig:
    def test_commands_as_lists_and_strings(self) -> None:
        config = parse(
            """
            max_fix_rounds = 3
            base_branch = "develop"
            [commands]
            setup = "pnpm install --frozen-lockfile"
            lint = ["pnpm", "run", "lint"]
            test = "pytest -q -k 'not slow'"
            [gates]
            review = false
            """
        )

        assert config.command("setup") == ("pnpm", "install", "--frozen-lockfile")
        assert config.command("lint") == ("pnpm", "run", "lint")
        assert config.command("test") == ("pytest", "-q", "-k", "not slow")
        assert not config.gate_enabled("review")
        assert config.gate_enabled("lint")
        assert (config.max_fix_rounds, config.base_branch) == (3, "develop")

    def test_defaults_without_a_file(self) -> None:
        config = parse("")

        assert config.command("lint") is None
        assert all(config.gate_enabled(gate) for gate in ("review", "lint", "test"))
        assert (config.max_fix_rounds, config.base_branch) == (2, None)

    def test_a_disabled_gate_has_no_command(self) -> None:
        config = parse('[commands]\ntest = "make test"\n[gates]\ntest = false\n')

        assert config.command("test") is None

    @pytest.mark.parametrize(
        ("text", "names"),
        [
            ("[commands\nlint = 1", "not valid TOML"),
            ("[commands]\nlint = 1", "commands.lint"),
            ('[commands]\nlint = ["ruff", 3]', "commands.lint"),
            ('[commands]\nlint = "ruff \'check"', "commands.lint"),
            ('[commands]\nformat = "ruff format"', "commands.format"),
            ('[gates]\nlint = "yes"', "gates.lint"),
            ("max_fix_rounds = 99", "max_fix_rounds"),
            ("max_fix_rounds = true", "max_fix_rounds"),
            ('base_branch = "--force"', "base_branch"),
            ("commands = 3", "[commands]"),
            ("colour = 1", "colour"),
        ],
    )
    def test_invalid_config_names_the_key(self, text: str, names: str) -> None:
        with pytest.raises(RepoConfigError, match=r"auto-code\.toml") as caught:
            parse(text)
        assert names in str(caught.value)

    def test_file_commands_win_and_the_rest_is_detected(self, tmp_path: Path) -> None:
        write_files(
            tmp_path,
            {
                ".auto-code.toml": '[commands]\nlint = "make lint"\ntest = ""\n',
                "package.json": json.dumps({"scripts": {"lint": "eslint .", "test": "vitest"}}),
                "pnpm-lock.yaml": "",
            },
        )

        config = load_repo_config(tmp_path, default_max_fix_rounds=1)

        assert config.command("lint") == ("make", "lint")
        assert config.command("test") is None  # "" means none, and nothing detected
        assert config.command("setup") == ("pnpm", "install", "--frozen-lockfile")
        assert config.max_fix_rounds == 1


class TestDetection:
    @pytest.mark.parametrize(
        ("lockfile", "manager", "setup"),
        [
            ("pnpm-lock.yaml", "pnpm", ("pnpm", "install", "--frozen-lockfile")),
            ("yarn.lock", "yarn", ("yarn", "install", "--frozen-lockfile")),
            ("package-lock.json", "npm", ("npm", "ci")),
        ],
    )
    def test_node_scripts_with_the_lockfiles_manager(
        self, tmp_path: Path, lockfile: str, manager: str, setup: tuple[str, ...]
    ) -> None:
        scripts = {"lint": "eslint .", "test": "vitest run", "build": "tsc"}
        write_files(tmp_path, {"package.json": json.dumps({"scripts": scripts}), lockfile: ""})

        assert detect_commands(tmp_path) == {
            "setup": setup,
            "lint": (manager, "run", "lint"),
            "test": (manager, "run", "test"),
        }

    def test_node_without_lockfile_installs_nothing(self, tmp_path: Path) -> None:
        package = {"packageManager": "pnpm@9.1.0", "scripts": {"test": "vitest"}}
        write_files(tmp_path, {"package.json": json.dumps(package)})

        assert detect_commands(tmp_path) == {"test": ("pnpm", "run", "test")}

    def test_python_with_ruff_and_pytest(self, tmp_path: Path) -> None:
        write_files(
            tmp_path,
            {"pyproject.toml": "[tool.ruff]\nline-length = 100\n", "tests/test_x.py": ""},
        )

        assert detect_commands(tmp_path) == {
            "lint": ("ruff", "check", "."),
            "test": ("python", "-m", "pytest", "-q"),
        }

    def test_python_prefers_uv_run_with_a_uv_lock(self, tmp_path: Path) -> None:
        pyproject = '[dependency-groups]\ndev = ["ruff"]\n[tool.pytest.ini_options]\n'
        write_files(tmp_path, {"pyproject.toml": pyproject, "uv.lock": ""})

        assert detect_commands(tmp_path) == {
            "setup": ("uv", "sync", "--frozen"),
            "lint": ("uv", "run", "--frozen", "ruff", "check", "."),
            "test": ("uv", "run", "--frozen", "python", "-m", "pytest", "-q"),
        }

    def test_makefile_targets(self, tmp_path: Path) -> None:
        makefile = "LINT := ruff\nlint:\n\truff check .\ntest: lint\n\tpytest\n"
        write_files(tmp_path, {"Makefile": makefile})

        assert detect_commands(tmp_path) == {"lint": ("make", "lint"), "test": ("make", "test")}

    def test_makefile_variable_is_not_a_target(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"Makefile": "test := 1\nbuild:\n\ttrue\n"})

        assert detect_commands(tmp_path) == {}

    def test_nothing_to_detect(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"README.md": "hi", "tests/notes.txt": ""})

        assert detect_commands(tmp_path) == {}


class TestGates:
    async def test_passing_command(self, tmp_path: Path) -> None:
        argv = [sys.executable, "-c", "print('all good')"]

        result = await run_gate("lint", argv, cwd=tmp_path, env=child_env(), timeout_s=30)

        assert (result.status, result.exit_code, result.command) == ("passed", 0, tuple(argv))
        assert "all good" in result.output_tail
        assert result.duration_s > 0

    async def test_failing_command_keeps_its_output(self, tmp_path: Path) -> None:
        argv = [sys.executable, "-c", "import sys; print('E501 too long'); sys.exit(3)"]

        result = await run_gate("lint", argv, cwd=tmp_path, env=child_env(), timeout_s=30)

        assert (result.status, result.exit_code) == ("failed", 3)
        assert "E501 too long" in result.output_tail

    async def test_no_command_is_skipped(self, tmp_path: Path) -> None:
        result = await run_gate("test", None, cwd=tmp_path, env=child_env(), timeout_s=30)

        assert (result.status, result.exit_code, result.command) == ("skipped", None, None)

    async def test_hanging_command_is_killed_at_the_timeout(self, tmp_path: Path) -> None:
        start = time.monotonic()

        result = await run_gate("test", ["sleep", "60"], cwd=tmp_path, env=child_env(), timeout_s=1)

        assert time.monotonic() - start < 10
        assert result.status == "failed"
        assert "test timed out after 1s" in result.output_tail

    async def test_setup_runs_the_configured_command_without_credentials(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("GH_TOKEN", "ghp_should_not_leak")
        script = "import os; print(sorted(k for k in os.environ if k.endswith('TOKEN')))"
        config = RepoConfig(commands={"setup": (sys.executable, "-c", script)})

        result = await run_setup(config, cwd=tmp_path, env=child_env(), timeout_s=30)

        assert result.status == "passed"
        assert result.output_tail.strip() == "[]"
        assert "GH_TOKEN" in os.environ
