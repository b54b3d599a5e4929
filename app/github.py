"""Find or open the ticket's pull request with the `gh` CLI.

A branch has at most one open PR: a re-run updates that PR's body (and marks a draft ready when
the gates now pass) instead of opening a second one. The token reaches gh only in gh's own
environment, as `GH_TOKEN`, with a configuration directory of its own; bodies go through a
temporary file, never an argument. gh runs in the shared clone, never in the ticket's worktree,
whose `.git` file the agent can point at a repository of its own; with an http(s) REPO_URL, gh
is told the repository (`--repo`) and does not read git's remotes at all.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.environment import child_env
from app.errors import PullRequestError
from app.process import CommandResult, run_command

PR_URL = re.compile(r"https?://\S+/pull/(\d+)")


@dataclass(frozen=True)
class PullRequest:
    url: str
    number: int
    created: bool


def repo_option(repo_url: str | None) -> list[str]:
    """`--repo=HOST/OWNER/NAME` for an http(s) REPO_URL; nothing for a path or an ssh URL."""
    if not repo_url:
        return []
    parts = urlsplit(repo_url)
    path = parts.path.strip("/").removesuffix(".git")
    if parts.scheme not in ("http", "https") or not parts.hostname or path.count("/") != 1:
        return []
    return [f"--repo={parts.hostname}/{path}"]


def gh_env(token: str | None) -> dict[str, str]:
    """The environment for gh: ours without credentials, plus the token and no prompts."""
    extra = {"GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1", "NO_COLOR": "1"}
    return child_env({**extra, "GH_TOKEN": token} if token else extra)


async def find_or_create_pr(
    *,
    cwd: Path,
    repo_url: str | None,
    branch: str,
    base: str,
    title: str,
    body: str,
    draft: bool,
    env: Mapping[str, str],
    timeout_s: float,
) -> PullRequest:
    """The open PR of `branch` with `body`, created (as a draft when asked) if there is none.

    gh reads `~/.config/gh`, which the agent's programs can write: an `http_unix_socket` there
    sends every API request, the token included, to a socket of theirs. With GH_TOKEN gh needs
    nothing from that directory, so it gets an empty one of its own.
    """
    with tempfile.TemporaryDirectory(prefix="auto-code-pr-") as tmp:
        if env.get("GH_TOKEN"):
            (Path(tmp) / "gh").mkdir()
            env = {**env, "GH_CONFIG_DIR": str(Path(tmp) / "gh")}

        repo = repo_option(repo_url)

        async def gh(*args: str, what: str) -> CommandResult:
            result = await run_command(["gh", *args, *repo], cwd=cwd, timeout_s=timeout_s, env=env)
            if not result.ok:
                message = f"{what} failed: {result.describe()}\n{result.tail(2000)}"
                raise PullRequestError(message, result=result)
            return result

        query = ("pr", "list", f"--head={branch}", "--state=open", "--json=number,url,isDraft")
        listed = await gh(*query, what=f"looking for an open PR of {branch}")
        try:
            found = json.loads(listed.output)
        except ValueError:
            raise PullRequestError(f"gh pr list printed no JSON: {listed.tail(500)}") from None
        body_file = Path(tmp) / "body.md"
        body_file.write_text(body, encoding="utf-8")
        if found:
            number = str(found[0]["number"])
            await gh("pr", "edit", number, f"--body-file={body_file}", what=f"updating PR {number}")
            if found[0].get("isDraft") and not draft:
                await gh("pr", "ready", number, what=f"marking PR {number} ready")
            return PullRequest(found[0]["url"], int(number), created=False)
        # `--flag=value`: a title starting with "-" stays a value.
        args = [
            f"--head={branch}",
            f"--base={base}",
            f"--title={title}",
            f"--body-file={body_file}",
        ]
        argv = ["gh", "pr", "create", *args, *repo, *(["--draft"] if draft else [])]
        result = await run_command(argv, cwd=cwd, timeout_s=timeout_s, env=env)
    urls = list(PR_URL.finditer(result.output))
    if urls and (result.ok or "already exists" in result.output):
        # "already exists": an attempt that crashed right after opening it; list missed it.
        return PullRequest(urls[-1].group(0), int(urls[-1].group(1)), created=result.ok)
    message = f"opening a PR for {branch} failed: {result.describe()}\n{result.tail(2000)}"
    raise PullRequestError(message, result=result)
