"""Fixtures shared by the whole suite: a clean environment, sample payloads, service launchers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import is_secret_env_name

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT.parent / "shared" / "samples" / "jira"

SETTING_NAMES = {
    "ENVIRONMENT",
    "NODE_ENV",
    "PORT",
    "CLAUDE_CODE_API_PORT",
    "WORKSPACE_DIR",
    "REPO_URL",
    "REPO_DIR",
    "DRY_RUN",
    "DATABASE_URL",
    "BASE_BRANCH",
    "TRIGGER_LABEL",
    "ALLOWED_PROJECTS",
    "IGNORE_ACCOUNT_IDS",
    "RATE_LIMIT",
    "ANTHROPIC_BASE_URL",
    "JIRA_BASE_URL",
    "JIRA_EMAIL",
    "JIRA_TRANSITION_ON_START",
    "JIRA_TRANSITION_ON_PR",
    "PUBLIC_URL",
}


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
    assert SAMPLES.is_dir(), f"shared samples missing at {SAMPLES}"
    yield SAMPLES
