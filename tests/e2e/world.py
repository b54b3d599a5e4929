"""The world an end-to-end test runs in: a target repository, the fake model, gh, the service.

The target repository's lint and test gates are small scripts that look for markers the scripted
agent leaves in its first attempt, so every gate fails once and is fixed by a resumed session.
Each ticket key selects a behaviour of the scripted model (see `Behaviour`).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from tests.fakes.gh_shim import GhShim, install_gh_shim
from tests.fakes.git_repos import make_origin
from tests.fakes.model_server import (
    ModelRequest,
    ModelServer,
    Reply,
    bash,
    last_user_text,
    structured,
    text,
    write,
)
from tests.fakes.service import Service

GH_TOKEN = "ghp_e2eSecretTokenValue0123456789"
WEBHOOK_TOKEN = "webhook-e2e-secret-0123456789"

TARGET_FILES = {
    "README.md": "# widgets\n",
    ".auto-code.toml": (
        '[commands]\nlint = ["python3", "checks/lint.py"]\ntest = ["python3", "checks/test.py"]\n'
    ),
    "checks/lint.py": (
        "import pathlib, sys\n"
        "bad = [str(p) for p in pathlib.Path('src').glob('*.py') if 'LINTME' in p.read_text()]\n"
        "if bad:\n"
        "    print('lint: marker LINTME left in', *bad)\n"
        "    sys.exit(1)\n"
        "print('lint: ok')\n"
    ),
    "checks/test.py": (
        "import pathlib, sys\n"
        "bad = [str(p) for p in pathlib.Path('src').glob('*.py')\n"
        "       if 'hello, world' not in p.read_text()]\n"
        "if bad:\n"
        "    print('FAILED: greet() must return hello, world in', *bad)\n"
        "    sys.exit(1)\n"
        "print('1 passed')\n"
    ),
}

FIRST_DRAFT = "# LINTME\ndef greet():  # REVIEWME\n    return 'hello'\n"
GOOD = "def greet():\n    return 'hello, world'\n"


def worktree_of(workspace: Path, key: str) -> Path:
    return workspace / "worktrees" / "ticket" / key.lower()


@dataclass
class Behaviour:
    """How the scripted model acts on one ticket: implement, review, and fix each gate."""

    implement: Callable[[Path, int], Reply]
    fixes: dict[str, str] = field(default_factory=dict)
    """Gate → Bash command that fixes it; a gate not listed is answered with words only."""
    hold: threading.Event | None = None
    """When set, implementation requests wait for the event before they are answered."""


def writes(content: str) -> Callable[[Path, int], Reply]:
    def implement(worktree: Path, step: int) -> Reply:
        if step == 0:
            return write(worktree / "src" / f"{worktree.name}.py", content)
        return text(f"Added greet() in src/{worktree.name}.py.")

    return implement


def runs(command: str) -> Callable[[Path, int], Reply]:
    def implement(_worktree: Path, step: int) -> Reply:
        return bash(command) if step == 0 else text("Ran the command.")

    return implement


def says(words: str) -> Callable[[Path, int], Reply]:
    return lambda _worktree, _step: text(words)


def keeps_working(_worktree: Path, _step: int) -> Reply:
    return bash("true")


class Model:
    """The scripted model for a whole test module: dispatches each request by ticket key."""

    def __init__(self, workspaces: list[Path]) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.workspaces = workspaces
        self.server = ModelServer(self.answer)

    def add(self, key: str, behaviour: Behaviour) -> None:
        self.behaviours[key] = behaviour

    def key_of(self, request: ModelRequest) -> str | None:
        dump = json.dumps(request.messages)
        for key in self.behaviours:
            if re.search(rf"\b({re.escape(key)}|{re.escape(key.lower())}\.py)\b", dump):
                return key
        return None

    def worktree(self, key: str) -> Path:
        for workspace in self.workspaces:
            if worktree_of(workspace, key).exists():
                return worktree_of(workspace, key)
        return worktree_of(self.workspaces[0], key)

    def answer(self, request: ModelRequest) -> Reply:
        prompt = last_user_text(request)
        key = self.key_of(request)
        if key is None:
            return text("I do not know this ticket.")
        behaviour = self.behaviours[key]
        if prompt.lstrip().startswith("REVIEW"):
            if request.step > 0:
                return text("Reviewed.")
            if "REVIEWME" in prompt:
                finding = {
                    "file": f"src/{key.lower()}.py",
                    "line": 2,
                    "severity": "error",
                    "message": "remove the REVIEWME marker",
                }
                return structured({"has_issues": True, "findings": [finding]})
            return structured({"has_issues": False, "findings": []})
        for gate in ("review", "lint", "test"):
            if f"The {gate} gate failed" in prompt:
                command = behaviour.fixes.get(gate)
                if command and request.step == 0:
                    return bash(command)
                return text(f"Fixed the {gate} findings." if command else "I could not fix it.")
        if behaviour.hold is not None:
            behaviour.hold.wait()
        return behaviour.implement(self.worktree(key), request.step)

    def requests_of(self, key: str) -> list[ModelRequest]:
        return [r for r in self.server.main_requests() if self.key_of(r) == key]


FIX_ALL = {
    "review": "sed -i 's/  # REVIEWME//' src/*.py",
    "lint": "sed -i '/LINTME/d' src/*.py",
    "test": "sed -i \"s/'hello'/'hello, world'/\" src/*.py",
}


@dataclass
class World:
    origin: Path
    model: Model
    gh: GhShim
    root: Path

    def service_env(self, workspace: Path, **settings: str) -> dict[str, str]:
        home = workspace / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": self.gh.environ({"PATH": os.environ["PATH"]})["PATH"],
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "WORKSPACE_DIR": str(workspace),
            "REPO_URL": str(self.origin),
            "GH_TOKEN": GH_TOKEN,
            "WEBHOOK_SECRET": WEBHOOK_TOKEN,
            "DRY_RUN": "false",
            "QUEUE_POLL_S": "0.1",
            "MAX_TURNS": "4",
            "AGENT_TIMEOUT_S": "120",
            "RATE_LIMIT": "1000/minute",
            "JIRA_BASE_URL": "https://acme.atlassian.net",
            **{k: v for k, v in self.model.server.cli_env(home).items() if k != "HOME"},
            **settings,
        }
        return env

    def service(self, name: str, **settings: str) -> Service:
        workspace = self.root / name
        workspace.mkdir(parents=True, exist_ok=True)
        self.model.workspaces.append(workspace)
        return Service(self.service_env(workspace, **settings), workspace / "service.log")


def pr_creates(world: World, branch: str) -> list[dict]:
    """Every `gh pr create` the shim recorded for `branch`."""
    return [
        call
        for call in world.gh.calls()
        if call["argv"][:2] == ["pr", "create"] and f"--head={branch}" in call["argv"]
    ]


def make_world(root: Path, files: dict[str, str] | None = None) -> World:
    """A started model server, the gh shim, and an origin holding `files` (or TARGET_FILES)."""
    origin = make_origin(root, files or TARGET_FILES)
    model = Model([])
    model.server.start()
    return World(origin=origin, model=model, gh=install_gh_shim(root), root=root)


def world_fixture(
    name: str,
    *,
    scope: Literal["function", "module", "package"] = "module",
    files: dict[str, str] | None = None,
) -> object:
    """The `world` fixture of a test module or package: `world = world_fixture("e2e")`.

    The world is made in a temporary directory called `name`, from `files` (or TARGET_FILES);
    its model server stops once the last test of `scope` is done with it.
    """

    @pytest.fixture(scope=scope, name="world")
    def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
        world = make_world(tmp_path_factory.mktemp(name), files)
        yield world
        world.model.server.stop()

    return world


def post_ticket(
    service: Service, key: str, summary: str = "Add a greeting", *, delivery: str | None = None
) -> dict:
    headers = {"x-webhook-token": WEBHOOK_TOKEN}
    if delivery:
        headers["x-atlassian-webhook-identifier"] = delivery
    body = {
        "issue": {
            "key": key,
            "fields": {"summary": summary, "description": "h2. Goal\n* greet the *world*"},
        }
    }
    response = service.client.post("/webhook/jira", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()
