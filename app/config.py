"""Settings, read once from the environment and `.env`, validated at start-up.

In production the service refuses to start when a required setting is missing or invalid, listing
every problem at once. Secrets are `SecretStr`: they never appear in reprs, logs or the run record.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_WEBHOOK_SECRET_LENGTH = 16

CommaList = Annotated[list[str], NoDecode]


class SettingsError(ValueError):
    """Settings that cannot be used; `problems` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "production", "test"] = Field(
        "development", validation_alias=AliasChoices("ENVIRONMENT", "NODE_ENV")
    )
    host: str = "127.0.0.1"
    port: int = Field(
        3001, ge=1, le=65535, validation_alias=AliasChoices("PORT", "CLAUDE_CODE_API_PORT")
    )
    log_level: str = "INFO"

    workspace_dir: Path = Path("workspace")
    repo_url: str | None = None
    repo_dir: Path | None = None
    base_branch: str | None = None
    database_url: str | None = None

    anthropic_api_key: SecretStr | None = None
    claude_code_oauth_token: SecretStr | None = None
    gh_token: SecretStr | None = None
    admin_token: SecretStr | None = None
    """Bearer token of the operator's endpoints (POST /runs/{id}/cancel); unset, they answer 403."""
    webhook_secret: SecretStr | None = None
    jira_webhook_hmac_secret: SecretStr | None = None
    webhook_secret_previous: SecretStr | None = None
    jira_webhook_hmac_secret_previous: SecretStr | None = None
    """Still accepted while a rotation is under way; each use is logged."""

    dry_run: bool | None = None
    """Unset means on in development and test, off in production."""

    langfuse_public_key: SecretStr | None = None
    langfuse_secret_key: SecretStr | None = None
    langfuse_base_url: str = "https://cloud.langfuse.com"
    langfuse_flush_interval_s: float = Field(
        5.0, gt=0, validation_alias=AliasChoices("LANGFUSE_FLUSH_INTERVAL")
    )
    """Longest time a finished span waits before it is sent (every run is flushed at its end)."""

    max_concurrent_tickets: int = Field(2, ge=1, le=64)
    max_turns: int = Field(50, ge=1)
    max_budget_usd: float = Field(10.0, gt=0)
    max_fix_rounds: int = Field(2, ge=0, le=10)
    agent_timeout_s: float = Field(1800, gt=0)
    check_timeout_s: float = Field(900, gt=0)
    git_timeout_s: float = Field(300, gt=0)
    queue_poll_s: float = Field(1.0, gt=0, le=60)
    """How often the queue looks for runs to start; lower in tests."""
    claude_model: str | None = None

    trigger_label: str | None = None
    allowed_projects: CommaList = []
    ignore_account_ids: CommaList = []
    rate_limit: str = "10/minute"
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    jira_base_url: str | None = None
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_pat: SecretStr | None = None
    jira_transition_on_start: str | None = None
    jira_transition_on_pr: str | None = None
    jira_timeout_s: float = Field(10, gt=0, le=300)
    jira_retries: int = Field(3, ge=0, le=10)
    public_url: str | None = None
    """The service's public base URL, for the run status link in Jira comments."""

    git_author_name: str = "auto-code[bot]"
    git_author_email: str = "auto-code@users.noreply.github.com"

    agent_deny_commands: CommaList = []
    """More commands the agent's Bash may not run (leading words, globs): `docker,npm publish`."""
    allow_workflow_edits: bool = False
    """Let the agent change `.github/workflows` and `.github/actions` (CI runs them)."""
    agent_sandbox: bool = False
    """Run the agent's Bash under the CLI's bubblewrap sandbox: needs `bwrap` and namespaces."""

    @field_validator("allowed_projects", "ignore_account_ids", "agent_deny_commands", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "trigger_label",
        "base_branch",
        "repo_url",
        "claude_model",
        "jira_base_url",
        "jira_email",
        "jira_transition_on_start",
        "jira_transition_on_pr",
        "public_url",
    )
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("admin_token")
    @classmethod
    def _admin_token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < MIN_WEBHOOK_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_WEBHOOK_SECRET_LENGTH} characters")
        return value

    @field_validator("rate_limit")
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit like '10/minute': {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _local_repository_by_default(self) -> Settings:
        """Without REPO_URL or REPO_DIR, the target is the repository in the working directory."""
        if not self.repo_url and self.repo_dir is None:
            self.repo_dir = Path.cwd()
        return self

    @model_validator(mode="after")
    def _previous_secrets_beside_current_ones(self) -> Settings:
        """A previous secret only widens a current one: alone it would leave the webhook open."""
        problems = [
            f"{name.upper()}_PREVIOUS is set without {name.upper()}: set the new secret too"
            for name in ("webhook_secret", "jira_webhook_hmac_secret")
            if _present(getattr(self, f"{name}_previous")) and not _present(getattr(self, name))
        ]
        if problems:
            raise SettingsError(problems)
        return self

    @model_validator(mode="after")
    def _jira_writeback_complete(self) -> Settings:
        """Half-configured write-back is refused everywhere: it would silently do nothing."""
        problems = []
        cloud = bool(self.jira_email) or _present(self.jira_api_token)
        if cloud and _present(self.jira_pat):
            problems.append(
                "set JIRA_PAT (Data Center) or JIRA_EMAIL + JIRA_API_TOKEN (Cloud), not both"
            )
        elif cloud and not (self.jira_email and _present(self.jira_api_token)):
            problems.append("JIRA_EMAIL and JIRA_API_TOKEN are needed together (Jira Cloud)")
        if (cloud or _present(self.jira_pat)) and not _is_http_url(self.jira_base_url):
            problems.append("JIRA_BASE_URL (https://...) is required for Jira write-back")
        if self.public_url is not None and not _is_http_url(self.public_url):
            problems.append(f"PUBLIC_URL must be an http(s) URL, got {self.public_url!r}")
        if problems:
            raise SettingsError(problems)
        return self

    @model_validator(mode="after")
    def _production_requirements(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        if not self.repo_url:
            problems.append("REPO_URL is required in production")
        if not _present(self.gh_token):
            problems.append("GH_TOKEN is required in production")
        if not (_present(self.anthropic_api_key) or _present(self.claude_code_oauth_token)):
            problems.append(
                "ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN is required in production"
            )
        token = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        for name, secret in (
            ("WEBHOOK_SECRET", self.webhook_secret),
            ("WEBHOOK_SECRET_PREVIOUS", self.webhook_secret_previous),
        ):
            value = secret.get_secret_value() if secret else ""
            if value and len(value) < MIN_WEBHOOK_SECRET_LENGTH:
                problems.append(f"{name} must be at least {MIN_WEBHOOK_SECRET_LENGTH} characters")
        if not token and not _present(self.jira_webhook_hmac_secret):
            problems.append(
                "WEBHOOK_SECRET (>= 16 characters) or JIRA_WEBHOOK_HMAC_SECRET is required "
                "in production"
            )
        if problems:
            raise SettingsError(problems)
        return self

    @property
    def is_dry_run(self) -> bool:
        return self.dry_run if self.dry_run is not None else self.environment != "production"

    @property
    def webhook_open(self) -> bool:
        """True when no webhook secret is configured (allowed outside production only)."""
        return not _present(self.webhook_secret) and not _present(self.jira_webhook_hmac_secret)

    @property
    def langfuse_enabled(self) -> bool:
        return _present(self.langfuse_public_key) and _present(self.langfuse_secret_key)

    @property
    def jira_writeback(self) -> Literal["cloud", "datacenter"] | None:
        """Where run progress is written back: Cloud (REST v3, ADF), Data Center (v2, wiki)."""
        if not self.jira_base_url:
            return None
        if _present(self.jira_pat):
            return "datacenter"
        if self.jira_email and _present(self.jira_api_token):
            return "cloud"
        return None

    @cached_property
    def workspace(self) -> Path:
        return self.workspace_dir.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.workspace / 'auto-code.sqlite'}"

    def secret_values(self) -> list[str]:
        """Every configured secret value, for scrubbing and for tests that look for leaks."""
        values = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                values.append(value.get_secret_value())
        return values


def setting_env_names() -> frozenset[str]:
    """Every environment name a setting is read from, aliases included."""
    names = set()
    for name, info in Settings.model_fields.items():
        names.add(name.upper())
        choices = getattr(info.validation_alias, "choices", ())
        names.update(c.upper() for c in choices if isinstance(c, str))
    return frozenset(names)


def _present(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value())


def _is_http_url(value: str | None) -> bool:
    parts = urlsplit(value or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def load_settings() -> Settings:
    """Read settings; raise SettingsError listing every problem."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            ctx_error = (error.get("ctx") or {}).get("error")
            if isinstance(ctx_error, SettingsError):
                problems.extend(ctx_error.problems)
            else:
                where = ".".join(str(p) for p in error["loc"]).upper() or "settings"
                problems.append(f"{where}: {error['msg']}")
        raise SettingsError(problems) from None
