"""Write-back settings: on only when complete, refused when half set, secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import SettingsError, load_settings
from app.environment import child_env, scrub_environ
from app.jira.writeback import JiraWriteBack
from app.observability import build_observers
from app.pipeline.runs import RunStore

CLOUD = {
    "JIRA_BASE_URL": "https://acme.atlassian.net",
    "JIRA_EMAIL": "bot@acme.example",
    "JIRA_API_TOKEN": "cloud-token-value",
}


def set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_without_jira_settings_write_back_is_off(tmp_path: Path) -> None:
    settings = load_settings()
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    try:
        observers = build_observers(settings, store)
    finally:
        store.close()
    assert settings.jira_writeback is None
    assert not any(isinstance(o, JiraWriteBack) for o in observers)


def test_cloud_and_data_center_are_told_apart(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_env(monkeypatch, CLOUD)
    cloud = load_settings()
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    try:
        assert any(isinstance(o, JiraWriteBack) for o in build_observers(cloud, store))
    finally:
        store.close()
    monkeypatch.delenv("JIRA_EMAIL")
    monkeypatch.delenv("JIRA_API_TOKEN")
    monkeypatch.setenv("JIRA_PAT", "dc-token-value")

    assert cloud.jira_writeback == "cloud"
    assert load_settings().jira_writeback == "datacenter"


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"JIRA_EMAIL": "bot@acme.example", "JIRA_BASE_URL": "https://x"}, "needed together"),
        ({**CLOUD, "JIRA_PAT": "dc-token-value"}, "not both"),
        ({"JIRA_PAT": "dc-token-value"}, "JIRA_BASE_URL (https://...) is required"),
        ({"JIRA_PAT": "dc-token-value", "JIRA_BASE_URL": "jira.local"}, "JIRA_BASE_URL"),
        ({"PUBLIC_URL": "auto-code.example.com"}, "PUBLIC_URL must be an http(s) URL"),
    ],
)
def test_half_configured_write_back_is_refused(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], problem: str
) -> None:
    set_env(monkeypatch, values)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert problem in "\n".join(raised.value.problems)
    assert "token-value" not in str(raised.value)


def test_jira_credentials_are_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, CLOUD)
    cloud = load_settings()
    monkeypatch.setenv("JIRA_PAT", "dc-token-value")  # not loaded: only scrubbed below

    assert "cloud-token-value" not in repr(cloud)
    assert "cloud-token-value" in cloud.secret_values()
    assert "JIRA_PAT" not in child_env() and "JIRA_API_TOKEN" not in child_env()
    assert {"JIRA_API_TOKEN", "JIRA_PAT"} <= set(scrub_environ())
