"""Fixtures shared by the whole suite: a clean environment, sample payloads, service launchers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import setting_env_names
from app.environment import is_secret_env_name

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT / "tests" / "samples" / "jira"
"""Real Jira payloads, copied from ../shared/samples/jira (SOURCES.md says where each is from)."""

SETTING_NAMES = setting_env_names() | {"ANTHROPIC_BASE_URL"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting or credential of the developer's shell leaks into a test; no `.env` is read."""
    for name in list(os.environ):
        if name in SETTING_NAMES or is_secret_env_name(name):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def issue_body(
    key: str = "PROJ-1", summary: str = "Add a greeting", **fields: Any
) -> dict[str, Any]:
    """The minimal custom body: `{"issue": {"key", "fields": {"summary", "description"}}}`."""
    return {"issue": {"key": key, "fields": {"summary": summary, **fields}}}


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


@pytest.fixture
def samples_dir() -> Iterator[Path]:
    yield SAMPLES
