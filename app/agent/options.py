"""How a Claude session is configured: limits, environment and `ClaudeAgentOptions`.

Decisions, measured on claude-agent-sdk 0.2.187 / Claude Code 2.1.330:
- Permissions: the guard's PreToolUse hook answers every tool call, so the default permission
  mode works headless and as root; `bypassPermissions` (refused as root without `IS_SANDBOX=1`)
  and `IS_SANDBOX` are not used.
- Settings: `setting_sources=[]` and `strict_mcp_config`. The target repository's
  `.claude/settings.json` could set hooks, MCP servers or `env` (e.g. `ANTHROPIC_BASE_URL`,
  which would send the API key elsewhere), and the agent itself can write that file in one
  round for the next. Its root `CLAUDE.md` is still wanted: we read it ourselves (bounded) into
  the appended system prompt.
- Environment: the CLI gets `os.environ` merged with `options.env`; every secret-looking name
  and every setting of the service still in `os.environ` is overridden with "", and only the
  Claude credential is passed. The CLI needs that credential, so its Bash tool can read it too
  (`env`, `/proc/$PPID/environ`) unless the sandbox is on.
- Sandbox (AGENT_SANDBOX): `CLAUDE_CODE_SUBPROCESS_ENV_SCRUB=1` makes the CLI run each Bash
  command under bubblewrap with the Claude credential removed from its environment, in a PID
  namespace of its own (no `/proc/<cli>/environ`), with `.git` config and hooks, `~/.ssh`,
  `~/.config/gh` and `.github` read-only or hidden. It needs `bwrap` on PATH and a container
  that allows namespaces. Measured side effect: to have mount points, the CLI creates empty
  placeholder files (`package.json`, `.env`, lock files...) at the worktree root; the session
  removes the ones it created (`SANDBOX_PLACEHOLDERS`) when it ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claude_agent_sdk import ClaudeAgentOptions

from app.agent.calls import IMPLEMENT_TOOLS, REVIEW_TOOLS
from app.agent.guard import Guard
from app.agent.prompts import GUIDANCE_LIMIT, system_append
from app.config import setting_env_names
from app.environment import is_secret_env_name

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Largest single message the SDK reads from the CLI (a big tool result is one line)."""


@dataclass(frozen=True)
class AgentLimits:
    """Bounds of one session: the CLI enforces turns and budget, we enforce the time."""

    model: str | None = None
    max_turns: int = 50
    max_budget_usd: float = 10.0
    timeout_s: float = 1800.0


SCRUB_ENV = "CLAUDE_CODE_SUBPROCESS_ENV_SCRUB"
SANDBOX_PLACEHOLDERS = (
    ".env",
    ".env.local",
    ".env.development",
    ".env.development.local",
    ".env.test",
    ".env.test.local",
    ".env.production",
    ".env.production.local",
    ".gitmodules",
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    "bunfig.toml",
    "package.json",
    "package-lock.json",
    "pnpm-lock.yaml",
    "yarn.lock",
)
"""Files the sandboxed CLI (2.1.x) creates empty at the worktree root when they are missing."""


def agent_env(env: Mapping[str, str], *, sandbox: bool = False) -> dict[str, str]:
    """`options.env` for the CLI: secrets and service settings blanked, then `env` on top.

    `env` carries what the CLI needs (the credential; in tests also `ANTHROPIC_BASE_URL` and
    `HOME`). The service scrubs credentials from `os.environ` at start-up; blanking here covers
    anything that arrived later or was missed, and settings such as DATABASE_URL whose names do
    not look secret, because the SDK passes the whole of `os.environ` on.
    """
    service = setting_env_names() - SHARED_WITH_TOOLS
    blanked = {name: "" for name in os.environ if is_secret_env_name(name) or name in service}
    fixed = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", SCRUB_ENV: "1" if sandbox else "0"}
    return {**blanked, **fixed, **env}


SHARED_WITH_TOOLS = frozenset({"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"})
"""Settings whose names git reads too: left to the agent, whose `git stash` needs an identity."""


def placeholders_to_remove(worktree: Path) -> list[Path]:
    """The SANDBOX_PLACEHOLDERS a sandboxed session may create: the ones missing now."""
    return [worktree / name for name in SANDBOX_PLACEHOLDERS if not _exists(worktree / name)]


def remove_placeholders(paths: list[Path]) -> None:
    """Delete the placeholders the sandbox left: still empty regular files."""
    for path in paths:
        if path.is_file() and not path.is_symlink() and path.stat().st_size == 0:
            path.unlink()


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def repository_guidance(worktree: Path) -> str:
    """The worktree's root CLAUDE.md, if it is a file inside the worktree (not a symlink out)."""
    path = (worktree / "CLAUDE.md").resolve()
    if not path.is_relative_to(worktree.resolve()) or not path.is_file():
        return ""
    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.read(GUIDANCE_LIMIT)


def build_options(
    worktree: Path,
    limits: AgentLimits,
    env: Mapping[str, str],
    *,
    guard: Guard,
    stderr: Callable[[str], None],
    resume: str | None = None,
    output_schema: dict[str, Any] | None = None,
) -> ClaudeAgentOptions:
    """Options for a session in `worktree`; `guard.mode` decides the tool set, and the
    sandbox is used where there is a Bash tool to put in it."""
    review = guard.mode == "review"
    return ClaudeAgentOptions(
        cwd=str(worktree),
        model=limits.model,
        max_turns=limits.max_turns,
        max_budget_usd=limits.max_budget_usd,
        env=agent_env(env, sandbox=guard.policy.sandbox and not review),
        tools=list(REVIEW_TOOLS if review else IMPLEMENT_TOOLS),
        system_prompt={
            "type": "preset",
            "preset": "claude_code",
            "append": system_append(repository_guidance(worktree), review=review),
        },
        setting_sources=[],
        strict_mcp_config=True,
        hooks=guard.hooks(),
        resume=resume,
        output_format=({"type": "json_schema", "schema": output_schema} if output_schema else None),
        stderr=stderr,
        max_buffer_size=MAX_MESSAGE_BYTES,
    )
