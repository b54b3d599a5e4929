"""A running service per configuration, shared by the tests of a module."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.gh_shim import install_gh_shim
from tests.fakes.service import Service

TOKEN = "token-for-tests-0123456789"
HMAC_SECRET = "It's a Secret to Everybody"


def service_env(workspace: Path, **settings: str) -> dict[str, str]:
    """A whole environment for `auto-code serve`: nothing inherited but PATH."""
    workspace.mkdir(parents=True, exist_ok=True)
    home = workspace / "home"
    home.mkdir(exist_ok=True)
    gh = install_gh_shim(workspace)  # /ready looks for gh; the machine may not have it
    return {
        "PATH": gh.environ({"PATH": os.environ["PATH"]})["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "WORKSPACE_DIR": str(workspace),
        "REPO_URL": str(workspace / "no-such-origin.git"),
        "DRY_RUN": "true",
        "QUEUE_POLL_S": "0.1",
        "LOG_LEVEL": "INFO",
        **settings,
    }


@pytest.fixture(scope="module")
def start_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def start(**settings: str) -> Service:
        workspace = tmp_path_factory.mktemp("service")
        service = Service(service_env(workspace, **settings), workspace / "service.log").start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
