""".env.example documents every setting of app/config.py, with its real default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import AliasChoices, ValidationError

from app.config import Settings
from tests.deploy.files import ENV_EXAMPLE, dockerfile

LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
REQUIRED_MARK = "required in production"


def env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return alias.choices[0] if isinstance(alias, AliasChoices) else str(alias or field.upper())


def entries() -> dict[str, tuple[str, str]]:
    """NAME -> (its value, the comment line right above it)."""
    found: dict[str, tuple[str, str]] = {}
    previous = ""
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := LINE.match(line):
            assert match.group(2) not in found, f"{match.group(2)} is listed twice"
            found[match.group(2)] = (match.group(3), previous)
        previous = line
    return found


def test_every_setting_is_listed_and_nothing_else() -> None:
    names = {env_name(field) for field in Settings.model_fields}
    listed = set(entries())
    assert not names - listed, f"settings missing from .env.example: {sorted(names - listed)}"
    assert not listed - names, f"not settings of app/config.py: {sorted(listed - names)}"


def test_each_setting_has_a_comment_line_of_its_own() -> None:
    for name, (_, above) in entries().items():
        assert above.startswith("# ") and not LINE.match(above), f"{name} has no comment above it"


def test_the_values_shown_are_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for field in Settings.model_fields:
        monkeypatch.delenv(env_name(field), raising=False)
    shown = {name: value for name, (value, _) in entries().items() if value}
    env_file = tmp_path / "example.env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in shown.items()))
    loaded, unset = Settings(_env_file=env_file), Settings(_env_file=None)
    for field in Settings.model_fields:
        default = getattr(unset, field)
        assert getattr(loaded, field) == default, f"{env_name(field)}: not the default {default!r}"


def test_what_production_requires_is_marked() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, environment="production")
    problems = " ".join(refused.value.errors()[0]["ctx"]["error"].problems)
    required = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", problems))
    assert {"REPO_URL", "GH_TOKEN", "WEBHOOK_SECRET"} <= required
    listed = entries()
    for name in required:
        assert REQUIRED_MARK in listed[name][1], f"{name} is not marked '{REQUIRED_MARK}'"
    unmarked = [name for name, (_, above) in listed.items() if REQUIRED_MARK in above]
    assert set(unmarked) == required


def test_nothing_set_here_overrides_what_the_image_sets() -> None:
    """A copied .env reaches the container through compose's env_file, which wins over the image's
    ENV: an active HOST=127.0.0.1 would hide the service from cloudflared."""
    image_env = {
        name
        for stage in dockerfile()[1]
        for ins in stage
        if ins.keyword == "ENV"
        for name in ins.assignments()
    }
    active = {
        match.group(2)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if (match := LINE.match(line)) and not match.group(1)
    }
    assert not active & image_env, f"commented out, please: {sorted(active & image_env)}"
