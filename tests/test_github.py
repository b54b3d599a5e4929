"""Finding or opening the pull request, with a recording `gh` shim first on PATH."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.errors import PullRequestError
from app.github import PullRequest, find_or_create_pr, gh_env, repo_option
from app.process import run_command
from tests.fakes.gh_shim import GhShim, install_gh_shim

TOKEN = "ghp_TestTokenValue0123456789"
BRANCH = "ticket/proj-1"


@pytest.fixture
def shim(tmp_path: Path) -> GhShim:
    return install_gh_shim(tmp_path)


async def open_pr(
    shim: GhShim,
    cwd: Path,
    *,
    body: str = "Implements PROJ-1.",
    draft: bool = False,
    repo_url: str | None = None,
    **env: str,
) -> PullRequest:
    return await find_or_create_pr(
        cwd=cwd,
        repo_url=repo_url,
        branch=BRANCH,
        base="main",
        title="PROJ-1: add the widget",
        body=body,
        draft=draft,
        env=shim.environ({**gh_env(TOKEN), **env}),
        timeout_s=30,
    )


def commands(shim: GhShim) -> list[list[str]]:
    return [call["argv"][:2] for call in shim.calls()]


async def test_creates_then_reuses_the_open_pr(shim: GhShim, tmp_path: Path) -> None:
    first = await open_pr(shim, tmp_path, body="first body")
    second = await open_pr(shim, tmp_path, body="second body")

    assert first == PullRequest("https://github.com/acme/widgets/pull/1", 1, created=True)
    assert second == PullRequest(first.url, 1, created=False)
    assert commands(shim) == [["pr", "list"], ["pr", "create"], ["pr", "list"], ["pr", "edit"]]
    create = shim.calls()[1]
    assert "--head=ticket/proj-1" in create["argv"]
    assert "--base=main" in create["argv"]
    assert "--title=PROJ-1: add the widget" in create["argv"]
    assert "--draft" not in create["argv"]
    assert (create["body"], shim.calls()[3]["body"]) == ("first body", "second body")
    assert [(pr["number"], pr["body"], pr["draft"]) for pr in shim.prs()] == [
        (1, "second body", False)
    ]


async def test_token_only_in_ghs_environment(shim: GhShim, tmp_path: Path) -> None:
    await open_pr(shim, tmp_path)

    assert all(call["gh_token"] for call in shim.calls())
    assert all(call["cwd"] == str(tmp_path) for call in shim.calls())
    assert TOKEN not in json.dumps(shim.calls())


async def test_gh_never_reads_the_config_in_home(
    shim: GhShim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's programs can write `~/.config/gh/config.yml`; with `http_unix_socket: <a
    socket of theirs>` there, gh (2.23, checked by hand) sends its API requests, token and all,
    to that socket. With a token, gh gets an empty configuration directory of its own."""
    home = tmp_path / "home"
    (home / ".config" / "gh").mkdir(parents=True)
    (home / ".config" / "gh" / "config.yml").write_text("http_unix_socket: /tmp/agent.sock\n")
    monkeypatch.setenv("HOME", str(home))

    await open_pr(shim, tmp_path)
    await open_pr(shim, tmp_path)

    dirs = [call.get("config_dir") for call in shim.calls()]
    assert len(dirs) == 4 and all(d and d["files"] == [] for d in dirs)
    paths = {Path(d["path"]) for d in dirs if d}
    assert not [p for p in paths if p.is_relative_to(home) or p.exists()]


async def test_draft_pr_is_marked_ready_once_the_gates_pass(shim: GhShim, tmp_path: Path) -> None:
    await open_pr(shim, tmp_path, draft=True)
    assert "--draft" in shim.calls()[1]["argv"]
    assert shim.prs()[0]["draft"] is True

    await open_pr(shim, tmp_path, draft=False)

    assert commands(shim)[-1] == ["pr", "ready"]
    assert shim.prs()[0]["draft"] is False


async def test_pr_opened_by_a_crashed_attempt_is_reused(shim: GhShim, tmp_path: Path) -> None:
    """GitHub's search can miss a PR opened seconds earlier; create then says it exists."""
    await open_pr(shim, tmp_path)

    again = await open_pr(shim, tmp_path, GH_SHIM_STALE_LIST="1")

    assert again == PullRequest("https://github.com/acme/widgets/pull/1", 1, created=False)
    assert len(shim.prs()) == 1


@pytest.mark.parametrize("failing", ["pr list", "pr create"])
async def test_gh_failure_is_a_pull_request_error(
    shim: GhShim, tmp_path: Path, failing: str
) -> None:
    with pytest.raises(PullRequestError, match="HTTP 502") as caught:
        await open_pr(shim, tmp_path, GH_SHIM_FAIL=failing)

    assert caught.value.result is not None
    assert caught.value.result.exit_code == 1
    assert caught.value.stage == "pull_request"
    assert shim.prs() == []


async def test_shim_answers_version_and_view(shim: GhShim, tmp_path: Path) -> None:
    """The shim itself: what other tests (and the e2e suite) rely on."""
    env = shim.environ(gh_env(TOKEN))
    version = await run_command(["gh", "--version"], cwd=tmp_path, timeout_s=30, env=env)
    assert version.ok
    assert "shim" in version.output
    await open_pr(shim, tmp_path)
    view = await run_command(
        ["gh", "pr", "view", BRANCH, "--json", "number,isDraft,headRefName"],
        cwd=tmp_path,
        timeout_s=30,
        env=env,
    )
    assert json.loads(view.output) == {"number": 1, "isDraft": False, "headRefName": BRANCH}


async def test_gh_is_told_the_repository_of_an_https_repo_url(shim: GhShim, tmp_path: Path) -> None:
    """With `--repo`, gh never asks git which repository it is in: a remote the agent's programs
    planted in a repository's configuration cannot retarget the pull request."""
    await open_pr(shim, tmp_path, repo_url="https://github.com/acme/widgets.git")
    await open_pr(shim, tmp_path, repo_url="https://github.com/acme/widgets.git", body="again")

    assert len(shim.calls()) == 4
    assert all("--repo=github.com/acme/widgets" in call["argv"] for call in shim.calls())


@pytest.mark.parametrize(
    ("repo_url", "option"),
    [
        ("https://github.com/acme/widgets", ["--repo=github.com/acme/widgets"]),
        ("https://ghe.example.com/acme/widgets.git/", ["--repo=ghe.example.com/acme/widgets"]),
        ("git@github.com:acme/widgets.git", []),
        ("/srv/git/widgets.git", []),
        ("https://github.com/acme", []),
        (None, []),
    ],
)
def test_repo_option(repo_url: str | None, option: list[str]) -> None:
    assert repo_option(repo_url) == option
