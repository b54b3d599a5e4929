"""Fixtures of the Jira package: a local server playing Jira, and a run store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.pipeline.runs import RunStore
from tests.fakes.jira_server import JiraServer


@pytest.fixture
def jira() -> Iterator[JiraServer]:
    server = JiraServer().start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    yield store
    store.close()
