"""The Dockerfile, read as a file: `make image-smoke` builds and runs it for real (it needs root
and minutes, so it runs in CI after this suite); these checks fail fast and say which rule broke."""

from __future__ import annotations

import fnmatch
import re

from app.environment import is_secret_env_name
from tests.deploy.files import REPO_ROOT, Instruction, dockerfile

TOKEN_PREFIXES = re.compile(r"ghp_|gho_|github_pat_|sk-ant-|sk-lf-|pk-lf-")


def final_stage() -> list[Instruction]:
    return dockerfile()[1][-1]


def only(stage: list[Instruction], keyword: str) -> Instruction:
    found = [ins for ins in stage if ins.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword} in the stage, found {len(found)}"
    return found[0]


def env(stage: list[Instruction]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for instruction in stage:
        if instruction.keyword == "ENV":
            merged.update(instruction.assignments())
    return merged


def image_user() -> tuple[str, str]:
    """(uid, name) of the final stage's USER, and the account `useradd` created for it."""
    stage = final_stage()
    uid = [ins for ins in stage if ins.keyword == "USER"][-1].value.split(":")[0]
    runs = " ".join(ins.value for ins in stage if ins.keyword == "RUN")
    created = re.search(rf"useradd [^&;]*--uid {uid}\b[^&;]*?(\w+)\s*(?:&&|;|$)", runs)
    assert created, f"no useradd --uid {uid} in the final stage"
    return uid, created.group(1)


def test_every_stage_builds_from_the_base_image_argument() -> None:
    before, stages = dockerfile()
    assert [ins.keyword for ins in before] == ["ARG"]
    assert "BASE_IMAGE" in before[0].assignments()
    assert len(stages) >= 2, "multi-stage: build tools stay out of the final image"
    for stage in stages:
        assert stage[0].value.split()[0] == "${BASE_IMAGE}"


def test_dependencies_come_from_the_lock_without_dev_tools() -> None:
    build, final = dockerfile()[1][0], final_stage()
    syncs = [ins.value for ins in build if ins.keyword == "RUN" and "uv sync" in ins.value]
    assert syncs
    assert all("--frozen" in sync and "--no-dev" in sync for sync in syncs)
    copied = [ins.value for ins in final if ins.keyword == "COPY"]
    assert any(value.startswith("--from=build /app/.venv ") for value in copied)


def test_no_secret_in_any_arg_env_or_instruction() -> None:
    before, stages = dockerfile()
    for instruction in before + [ins for stage in stages for ins in stage]:
        if instruction.keyword in ("ARG", "ENV"):
            names = [n for n in instruction.assignments() if is_secret_env_name(n)]
            assert not names, f"{instruction.keyword} {names}: secrets arrive at run time"
        assert "type=secret" not in instruction.value
    assert not TOKEN_PREFIXES.search((REPO_ROOT / "Dockerfile").read_text())


def test_runs_as_a_non_root_user_the_image_creates() -> None:
    uid, name = image_user()
    assert uid.isdigit() and int(uid) != 0, "numeric and not root, so runAsNonRoot can check it"
    assert name != "root"


def test_tini_is_pid_1_and_starts_the_service() -> None:
    stage = final_stage()
    assert only(stage, "ENTRYPOINT").exec_form()[0].endswith("/tini")
    assert only(stage, "CMD").exec_form() == ["auto-code", "serve"]


def test_healthcheck_asks_the_service_for_health() -> None:
    check = only(final_stage(), "HEALTHCHECK")
    command = check.exec_form()
    assert "/health" in " ".join(command)
    assert "'PORT'" in command[-1], "follows the PORT setting"


def test_workspace_and_claude_sessions_are_volumes_the_settings_use() -> None:
    _, name = image_user()
    stage = final_stage()
    volumes = only(stage, "VOLUME").exec_form()
    assert set(volumes) == {"/workspace", f"/home/{name}/.claude"}
    settings = env(stage)
    assert settings["WORKSPACE_DIR"] == "/workspace"
    assert settings["HOST"] == "0.0.0.0", "reachable from cloudflared"  # noqa: S104
    assert settings["ENVIRONMENT"] == "production", "refuses to start without its secrets"
    workdir = [ins.value for ins in stage if ins.keyword == "WORKDIR"][-1]
    assert not any(workdir.startswith(v) for v in volumes), "the agent could write a .env there"


def test_the_claude_cli_is_only_the_one_in_the_sdk_wheel() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert "@anthropic-ai/claude-code" not in text
    assert "claude_agent_sdk/_bundled/claude" in text


def dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parents wins."""
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatchcase(prefix, glob) for prefix in prefixes):
            ignored = not negated
    return ignored


def test_the_build_context_holds_the_sources_and_nothing_private() -> None:
    build = dockerfile()[1][0]
    sources = [
        word
        for ins in build
        if ins.keyword == "COPY" and not ins.value.startswith("--from")
        for word in ins.value.split()[:-1]
    ]
    assert sources
    for source in sources:
        assert (REPO_ROOT / source).exists() and not dockerignored(source), source
    for private in (".env", "compose/.env", ".cache/image-smoke", ".venv/bin", ".git/config"):
        assert dockerignored(private), f"{private} would be sent to the builder"
    assert dockerignored("workspace/auto-code.sqlite") and dockerignored("tests/conftest.py")
