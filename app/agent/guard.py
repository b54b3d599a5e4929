"""The tool guard: one PreToolUse hook that allows or denies every tool call of a session.

Claude Code asks a PreToolUse hook before each tool call, in the main session and in subagents.
Answering every call ourselves means no `bypassPermissions` (which the CLI refuses as root) and
no permission prompts in a headless run: the hook's "allow" is what lets Write/Edit/Bash run.
The rules themselves are in `app.agent.rules`; a denial's reason is what the model sees as the
tool's error. Denials are recorded on the `Guard` (tool, input, rule, reason) so the run record
and the pull request show what the agent tried. A hook that fails blocks the call
(`on_failure="block"`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from claude_agent_sdk import HookContext, HookInput, HookJSONOutput, HookMatcher
from claude_agent_sdk.types import HookEvent, PreToolUseHookInput

from app.agent.calls import Mode, Policy, Scope, ToolCall
from app.agent.rules import decide

logger = logging.getLogger(__name__)

SUMMARY_LIMIT = 300
"""Characters of a denied call's input kept on the run record."""


@dataclass
class Guard:
    """The hook for one session; `denials` collects what it refused.

    `home` is the agent's HOME: `~` in its commands, and its credential locations.
    """

    worktree: Path
    mode: Mode = "implement"
    policy: Policy = field(default_factory=Policy)
    home: Path | None = None
    denials: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.worktree = self.worktree.resolve()
        homes = dict.fromkeys(h.resolve() for h in (self.home, Path.home()) if h is not None)
        self.scope = Scope(self.worktree, self.mode, self.policy, tuple(homes))

    def hooks(self) -> dict[HookEvent, list[HookMatcher]]:
        return {"PreToolUse": [HookMatcher(hooks=[self.hook], on_failure="block")]}

    async def hook(
        self, hook_input: HookInput, _tool_use_id: str | None, _context: HookContext
    ) -> HookJSONOutput:
        if hook_input["hook_event_name"] != "PreToolUse":
            return {}
        pre_tool_use = cast(PreToolUseHookInput, hook_input)
        call = ToolCall(
            tool=pre_tool_use["tool_name"],
            input=dict(pre_tool_use["tool_input"] or {}),
            scope=self.scope,
            session_dir=_session_dir(pre_tool_use.get("transcript_path")),
            cwd=self._shell_cwd(pre_tool_use.get("cwd")),
        )
        denial = decide(call)
        if denial is None:
            return _decision("allow", "auto-code guard: allowed")
        self.denials.append(
            {
                "tool": call.tool,
                "input": summary(call.input),
                "rule": denial.rule,
                "reason": denial.reason,
            }
        )
        logger.warning("agent.tool_denied", extra={"tool": call.tool, "rule": denial.rule})
        return _decision("deny", f"auto-code guard ({denial.rule}): {denial.reason}")

    def _shell_cwd(self, cwd: str | None) -> Path | None:
        """Where the Bash tool stands: the CLI moves it back to the worktree when it leaves."""
        path = Path(cwd).resolve() if cwd else None
        return path if path is not None and path.is_relative_to(self.worktree) else None


def _session_dir(transcript: str | None) -> Path | None:
    """Large tool outputs are saved beside the transcript, in a folder named after it."""
    return Path(transcript).with_suffix("").resolve() if transcript else None


def _decision(decision: Literal["allow", "deny"], reason: str) -> HookJSONOutput:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    }


def summary(tool_input: dict[str, Any], limit: int = SUMMARY_LIMIT) -> str:
    """What the call was about (command or path), short enough for a run record."""
    for key in ("command", "file_path", "notebook_path", "path", "pattern"):
        if isinstance(tool_input.get(key), str):
            value = tool_input[key]
            return value if len(value) <= limit else value[:limit] + "…"
    return ", ".join(sorted(tool_input))[:limit]
