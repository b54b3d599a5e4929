"""Settings: embedded defaults, aliases, production fail-fast, secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings, SettingsError, load_settings
from app.environment import child_env, scrub_environ


def test_development_defaults_run_dry_on_sqlite_in_the_workspace() -> None:
    settings = Settings(_env_file=None)
    assert settings.is_dry_run is True
    assert (
        settings.effective_database_url
        == f"sqlite:///{Path('workspace').resolve()}/auto-code.sqlite"
    )
    assert settings.repo_dir == Path.cwd()
    assert settings.webhook_open is True


def test_production_lists_every_problem_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_ENV", "production")
    monkeypatch.setenv("WEBHOOK_SECRET", "short")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    problems = "\n".join(raised.value.problems)
    for name in ("REPO_URL", "GH_TOKEN", "ANTHROPIC_API_KEY", "WEBHOOK_SECRET"):
        assert name in problems
    assert "short" not in str(raised.value)


def test_production_starts_with_everything_required(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ENVIRONMENT": "production",
        "REPO_URL": "https://github.com/acme/widgets.git",
        "GH_TOKEN": "ghp_xxxxxxxxxxxxxxxxxxxx",
        "CLAUDE_CODE_OAUTH_TOKEN": "oauth-token",
        "JIRA_WEBHOOK_HMAC_SECRET": "hmac-secret",
        "CLAUDE_CODE_API_PORT": "8080",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.is_dry_run is False
    assert settings.port == 8080
    assert "ghp_" not in repr(settings)
    assert sorted(settings.secret_values()) == sorted(
        ["ghp_xxxxxxxxxxxxxxxxxxxx", "oauth-token", "hmac-secret"]
    )


def test_invalid_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_CONCURRENT_TICKETS", "0")
    monkeypatch.setenv("RATE_LIMIT", "lots")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    problems = "\n".join(raised.value.problems)
    assert "MAX_CONCURRENT_TICKETS" in problems
    assert "RATE_LIMIT" in problems


def test_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_PROJECTS", "PROJ, OPS ,")
    monkeypatch.setenv("IGNORE_ACCOUNT_IDS", "557058:bot")
    settings = load_settings()
    assert settings.allowed_projects == ["PROJ", "OPS"]
    assert settings.ignore_account_ids == ["557058:bot"]


def test_dot_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MAX_TURNS=7\nTRIGGER_LABEL=auto-code\n")
    settings = load_settings()
    assert (settings.max_turns, settings.trigger_label) == (7, "auto-code")


def test_credentials_are_scrubbed_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", "ghp_secret")
    monkeypatch.setenv("SOME_API_KEY", "k")
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert "GH_TOKEN" not in child_env()
    assert child_env({"GH_TOKEN": "given"})["GH_TOKEN"] == "given"
    removed = scrub_environ()
    assert {"GH_TOKEN", "SOME_API_KEY"} <= set(removed)
    assert "LANG" not in removed


@pytest.mark.parametrize("name", ["WEBHOOK_SECRET", "JIRA_WEBHOOK_HMAC_SECRET"])
def test_a_previous_secret_alone_is_refused(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Alone it would leave the webhook open: the service refuses to start, in any environment."""
    monkeypatch.setenv(f"{name}_PREVIOUS", "an-old-secret-0123456789")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    expected = f"{name}_PREVIOUS is set without {name}: set the new secret too"
    assert raised.value.problems == [expected]


def test_a_short_previous_token_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("WEBHOOK_SECRET", "a-new-token-0123456789")
    monkeypatch.setenv("WEBHOOK_SECRET_PREVIOUS", "short")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "WEBHOOK_SECRET_PREVIOUS must be at least 16 characters" in raised.value.problems


def test_admin_token_is_at_least_16_characters_in_every_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADMIN_TOKEN", "short-token")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert any(p.startswith("ADMIN_TOKEN") and "16" in p for p in raised.value.problems)

    monkeypatch.setenv("ADMIN_TOKEN", "")
    assert load_settings().admin_token is None
    monkeypatch.setenv("ADMIN_TOKEN", "a-long-enough-admin-token")
    settings = load_settings()
    assert settings.admin_token is not None
    assert "a-long-enough-admin-token" in settings.secret_values()
