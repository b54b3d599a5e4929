"""compose/auto-code.yml, read as a file: no Docker engine runs here to `docker compose config` it.

The image side of each contract (volume paths, the healthcheck, the user) comes from the
Dockerfile itself, so the two files cannot drift apart unnoticed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.config import Settings
from tests.deploy.files import COMPOSE_FILE, REPO_ROOT, compose, dockerfile, interpolate

APP, TUNNEL, POSTGRES = "auto-code", "cloudflared", "postgres"


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def image_instruction(keyword: str) -> list[str]:
    final = dockerfile()[1][-1]
    return next(ins for ins in final if ins.keyword == keyword).exec_form()


def test_nothing_is_published_on_the_host() -> None:
    for name, definition in compose()["services"].items():
        assert "ports" not in definition, f"{name} publishes a port"
        assert definition.get("network_mode") != "host", f"{name} shares the host's network"


def test_cloudflared_runs_the_tunnel_with_its_token_and_nothing_else() -> None:
    tunnel = service(TUNNEL)
    command = tunnel["command"]
    assert command[0] == "tunnel" and command[-1] == "run"
    token = tunnel["environment"]["TUNNEL_TOKEN"]
    assert interpolate(token, {"TUNNEL_TOKEN": "t0k3n"}) == "t0k3n"
    with pytest.raises(ValueError, match="TUNNEL_TOKEN"):
        interpolate(token, {})
    assert "env_file" not in tunnel, "cloudflared must not receive auto-code's secrets"
    assert "TUNNEL_TOKEN" not in service(APP).get("environment", {})
    assert tunnel["depends_on"][APP]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", [APP, TUNNEL, POSTGRES])
def test_every_service_restarts_and_reports_its_health(name: str) -> None:
    definition = service(name)
    assert definition["restart"] in ("always", "unless-stopped")
    check = definition["healthcheck"]
    assert check["test"][0] == "CMD" and len(check["test"]) > 1
    assert not check.get("disable", False)


def test_the_app_healthcheck_is_the_images() -> None:
    assert service(APP)["healthcheck"]["test"] == ["CMD", *image_instruction("HEALTHCHECK")]


def test_named_volumes_are_mounted_where_the_image_declares_them() -> None:
    declared = compose()["volumes"]
    mounts = [volume.split(":") for volume in service(APP)["volumes"]]
    assert all(len(parts) == 2 for parts in mounts), mounts
    for source, _ in mounts:
        assert source in declared, f"{source} is a bind mount, not a named volume"
    assert {target for _, target in mounts} == set(image_instruction("VOLUME"))


def test_settings_come_from_the_repository_env_file_which_git_ignores() -> None:
    assert service(APP)["env_file"] == "../.env"
    assert (COMPOSE_FILE.parent / "../.env").resolve() == REPO_ROOT / ".env"
    for private in (".env", "compose/.env"):
        ignored = subprocess.run(
            ["git", "check-ignore", "--quiet", "--no-index", private],
            cwd=REPO_ROOT,
            timeout=30,
            check=False,
        )
        assert ignored.returncode == 0, f"{private} is not ignored by git"


def database_url(variables: dict[str, str]) -> str:
    return interpolate(service(APP)["environment"]["DATABASE_URL"], variables)


def test_the_postgres_profile_points_database_url_at_its_server() -> None:
    postgres = service(POSTGRES)
    assert postgres["profiles"] == ["postgres"]
    assert "profiles" not in service(APP) and "profiles" not in service(TUNNEL)
    assert service(APP)["depends_on"][POSTGRES] == {
        "condition": "service_healthy",
        "required": False,
    }
    variables = {"POSTGRES_PASSWORD": "5f0a9c2e7d"}
    url = sa.make_url(database_url(variables))
    server = postgres["environment"]
    assert url.drivername == "postgresql+psycopg", "the driver the image has (psycopg 3)"
    assert (url.host, url.port) == (POSTGRES, 5432)
    assert url.username == server["POSTGRES_USER"]
    assert url.database == server["POSTGRES_DB"]
    assert url.password == interpolate(server["POSTGRES_PASSWORD"], variables)
    sa.create_engine(url).dispose()
    assert any(m.endswith(":/var/lib/postgresql/data") for m in postgres["volumes"])


def test_without_the_profile_runs_stay_in_sqlite_on_the_workspace_volume(tmp_path: Path) -> None:
    url = database_url({})
    assert url == ""
    settings = Settings(_env_file=None, database_url=url, workspace_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'auto-code.sqlite'}"


def test_every_compose_variable_is_documented_in_its_example_file() -> None:
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_FILE.read_text()))
    example = (COMPOSE_FILE.parent / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.MULTILINE))
    assert used, "the compose file interpolates TUNNEL_TOKEN at least"
    assert used <= documented, f"undocumented in compose/.env.example: {used - documented}"
