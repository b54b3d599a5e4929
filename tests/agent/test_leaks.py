"""The last check before a commit: no secret value and no CI definition leaves in the change."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.agent.leaks import CHUNK_BYTES, check_change, credential_values
from app.errors import AgentError
from app.pipeline.runs import RunStore
from app.redaction import REDACTED, redact, redact_data, searchable
from app.ticket import Ticket
from app.workspace import Workspace
from tests.fakes.git_repos import git, make_repo

TOKEN = "ghp_0123456789abcdefSECRET"


def test_redact_replaces_every_value_and_ignores_short_ones() -> None:
    text = f"token={TOKEN}; again {TOKEN}; pin=1234"
    assert redact(text, [TOKEN, "1234"]) == f"token={REDACTED}; again {REDACTED}; pin=1234"
    assert searchable(["short", TOKEN, TOKEN[:12]]) == [TOKEN, TOKEN[:12]]


def test_redact_data_walks_a_record() -> None:
    record = {"stages": [{"output_tail": f"+{TOKEN}\n", "exit_code": 0}], "n": None}
    assert redact_data(record, [TOKEN]) == {
        "stages": [{"output_tail": f"+{REDACTED}\n", "exit_code": 0}],
        "n": None,
    }


def test_credential_values_are_the_secret_named_ones() -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-0123456789", "HOME": "/home/agent-0123456789"}
    assert credential_values(env) == ["sk-ant-0123456789"]


async def test_a_change_holding_a_secret_value_is_refused_without_naming_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "clean.py").write_text("x = 1\n")
    (tmp_path / "config.py").write_text(f"TOKEN = '{TOKEN}'\n")

    with pytest.raises(AgentError) as raised:
        await check_change(
            tmp_path,
            ["clean.py", "config.py", "gone.py"],
            secrets=[TOKEN],
            allow_workflow_edits=False,
        )

    assert raised.value.subtype == "secret_in_change"
    assert "config.py" in str(raised.value) and "clean.py" not in str(raised.value)
    assert TOKEN not in str(raised.value)


async def test_a_secret_across_a_chunk_boundary_or_in_a_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * (CHUNK_BYTES - 5) + TOKEN.encode() + b"y" * 10)
    (tmp_path / "link").symlink_to(f"/tmp/{TOKEN}")

    for name in ("big.bin", "link"):
        with pytest.raises(AgentError):
            await check_change(tmp_path, [name], secrets=[TOKEN], allow_workflow_edits=False)


async def test_ci_definitions_are_refused_unless_allowed(tmp_path: Path) -> None:
    paths = ["src/app.py", ".github/workflows/ci.yml"]

    with pytest.raises(AgentError) as raised:
        await check_change(tmp_path, paths, secrets=[], allow_workflow_edits=False)
    await check_change(tmp_path, paths, secrets=[], allow_workflow_edits=True)

    assert raised.value.subtype == "workflow_edit"
    assert ".github/workflows/ci.yml" in str(raised.value)
    assert "ALLOW_WORKFLOW_EDITS" in str(raised.value)


async def test_changed_files_include_what_the_agent_committed_itself(tmp_path: Path) -> None:
    """A commit made behind the guard's back is still part of the change checked."""
    repo = make_repo(tmp_path / "repo", {"README.md": "# widgets\n"})
    worktree = tmp_path / "worktrees" / "ticket" / "proj-1"
    git("worktree", "add", "--quiet", "-b", "ticket/proj-1", str(worktree), cwd=repo)
    (worktree / "sneaky.py").write_text(f"TOKEN = '{TOKEN}'\n")
    git("add", "-A", cwd=worktree)
    git("commit", "--quiet", "-m", "sneaky", cwd=worktree)
    (worktree / "new file.txt").write_text("hello\n")
    (worktree / "README.md").unlink()
    workspace = Workspace(
        tmp_path / "ws",
        repo_url=None,
        repo_dir=repo,
        gh_token=None,
        timeout_s=30,
        author_name="bot",
        author_email="bot@example.com",
    )

    base_commit = git("rev-parse", "main", cwd=repo).strip()
    changed = await workspace.changed_files(worktree, base_commit=base_commit)

    assert sorted(changed) == ["README.md", "new file.txt", "sneaky.py"]
    with pytest.raises(AgentError):
        await check_change(worktree, changed, secrets=[TOKEN], allow_workflow_edits=False)


def test_the_run_record_is_redacted_as_it_is_written(tmp_path: Path) -> None:
    """Command output kept on the record (a diff, a test log) can carry a secret value."""
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}", secret_values=[TOKEN])
    run = store.admit(Ticket(key="PROJ-1", summary="x"), delivery_id=None, trigger="cli").run

    def add_stage(record: dict) -> None:
        record["stages"] = [{"commands": [{"output_tail": f"+TOKEN = '{TOKEN}'"}]}]

    store.update(run.id, agent_summary=f"used {TOKEN}", mutate=add_stage)

    stored = store.get(run.id)
    assert stored is not None and TOKEN not in str(stored.record)
    assert stored.record["agent_summary"] == f"used {REDACTED}"
