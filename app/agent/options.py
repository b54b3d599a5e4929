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
  still in `os.environ` is overridden with "" and only the Claude credential is passed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claude_agent_sdk import ClaudeAgentOptions

from app.agent.guard import IMPLEMENT_TOOLS, REVIEW_TOOLS, Guard
from app.agent.prompts import GUIDANCE_LIMIT, system_append
from app.config import is_secret_env_name

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Largest single message the SDK reads from the CLI (a big tool result is one line)."""


@dataclass(frozen=True)
class AgentLimits:
    """Bounds of one session: the CLI enforces turns and budget, we enforce the time."""

    model: str | None = None
    max_turns: int = 50
    max_budget_usd: float = 10.0
    timeout_s: float = 1800.0


def agent_env(env: Mapping[str, str]) -> dict[str, str]:
    """`options.env` for the CLI: secrets left in `os.environ` blanked, then `env` on top.

    `env` carries what the CLI needs (the credential; in tests also `ANTHROPIC_BASE_URL` and
    `HOME`). The service scrubs `os.environ` at start-up; blanking here covers anything that
    arrived later or was missed, because the SDK passes the whole of `os.environ` on.
    """
    blanked = {name: "" for name in os.environ if is_secret_env_name(name)}
    return {**blanked, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", **env}


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
    """Options for a session in `worktree`; `guard.mode` decides the tool set."""
    review = guard.mode == "review"
    return ClaudeAgentOptions(
        cwd=str(worktree),
        model=limits.model,
        max_turns=limits.max_turns,
        max_budget_usd=limits.max_budget_usd,
        env=agent_env(env),
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
