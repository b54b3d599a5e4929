"""The tool guard: one PreToolUse hook that allows or denies every tool call of a session.

Claude Code asks a PreToolUse hook before each tool call, in the main session and in subagents.
Answering every call ourselves means no `bypassPermissions` (which the CLI refuses as root) and
no permission prompts in a headless run: the hook's "allow" is what lets Write/Edit/Bash run.

All rules live in `RULES`, checked in order; the first that objects denies the call with its
reason, which the model sees as the tool's error. Denials are recorded on the `Guard` so the
run record shows what the agent tried. A hook that fails blocks the call (`on_failure="block"`).

The Bash rules read the command as shell text and are best-effort: they stop the model from
doing what the pipeline does itself (commit, push, open PRs) and from obvious escalation, not a
determined attacker. The hard boundary is that the agent's environment holds no GitHub or
service credentials (see `app.agent.sessions.agent_env`).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from claude_agent_sdk import HookContext, HookInput, HookJSONOutput, HookMatcher
from claude_agent_sdk.types import HookEvent, PreToolUseHookInput

Mode = Literal["implement", "review"]

READ_TOOLS = ("Read", "Glob", "Grep")
WRITE_TOOLS = ("Write", "Edit", "NotebookEdit")
IMPLEMENT_TOOLS = (*READ_TOOLS, *WRITE_TOOLS, "Bash")
"""Offered to the implementation session (`tools=`). Left out: web tools (network), Task and
other agent/scheduling tools (unbounded side work); the guard denies them if called anyway."""
REVIEW_TOOLS = READ_TOOLS
STRUCTURED_OUTPUT_TOOL = "StructuredOutput"
"""The CLI's synthetic tool for `output_format`: the model calls it with the JSON result."""

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "fish"})
DOWNLOADERS = frozenset({"curl", "wget"})
PRIVILEGE_TOOLS = frozenset({"sudo", "su", "doas", "pkexec"})
COMMAND_WRAPPERS = frozenset(
    {"env", "command", "exec", "nohup", "time", "nice", "timeout", "xargs"}
)
GIT_OPTIONS_WITH_VALUE = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace"})
GIT_REMOTE_READ_ONLY = frozenset({"-v", "--verbose", "show", "get-url"})
_SEPARATORS = re.compile(r"\|\||&&|[;&|\n()`]|\$\(|<\(|>\(")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class ToolCall:
    """One call the model wants to make, with what the rules need to judge it."""

    tool: str
    input: dict[str, Any]
    worktree: Path
    mode: Mode
    session_dir: Path | None

    def path(self) -> Path | None:
        """The file or directory a file tool acts on, resolved (symlinks and `..` followed)."""
        raw = self.input.get("file_path") or self.input.get("notebook_path")
        if raw is None and self.tool in ("Glob", "Grep"):
            raw = self.input.get("path") or str(self.worktree)
        if not isinstance(raw, str) or not raw:
            return None
        path = Path(os.path.expanduser(raw))
        return (path if path.is_absolute() else self.worktree / path).resolve()

    def commands(self) -> list[list[str]]:
        """The simple commands of a Bash call, each as argv without env assignments or wrappers."""
        return list(_simple_commands(str(self.input.get("command", ""))))


Check = Callable[[ToolCall], str | None]
"""Returns the reason to deny, or None to let the next rule judge."""


@dataclass(frozen=True)
class Rule:
    name: str
    tools: frozenset[str] | None
    """The tools the rule judges; None for every tool."""
    check: Check


def _tool_allowed(call: ToolCall) -> str | None:
    allowed = REVIEW_TOOLS if call.mode == "review" else IMPLEMENT_TOOLS
    if call.tool in allowed or call.tool == STRUCTURED_OUTPUT_TOOL:
        return None
    if call.mode == "review":
        return f"{call.tool} is not available in a read-only review; use {', '.join(allowed)}"
    return f"{call.tool} is not available to auto-code sessions"


def _inside_worktree(call: ToolCall) -> str | None:
    path = call.path()
    if path is None:
        return "the tool call names no file path"
    if path.is_relative_to(call.worktree):
        return None
    # Large tool outputs are saved under the session's own directory for the model to read.
    reading_own_output = call.tool in READ_TOOLS and call.session_dir is not None
    if reading_own_output and path.is_relative_to(call.session_dir):
        return None
    return f"{path} is outside the worktree {call.worktree}"


def _not_git_internals(call: ToolCall) -> str | None:
    path = call.path()
    inside = path is not None and path.is_relative_to(call.worktree)
    if inside and ".git" in path.relative_to(call.worktree).parts:
        return "files under .git are managed by the pipeline"
    return None


def _bash_command(predicate: Callable[[list[str]], str | None]) -> Check:
    def check(call: ToolCall) -> str | None:
        return next(filter(None, map(predicate, call.commands())), None)

    return check


def _no_privilege(argv: list[str]) -> str | None:
    return f"`{argv[0]}` is not allowed" if argv[0] in PRIVILEGE_TOOLS else None


def _no_gh(argv: list[str]) -> str | None:
    return "the pipeline opens the pull request; do not run gh" if argv[0] == "gh" else None


def _git_subcommand(argv: list[str]) -> tuple[str, list[str]] | None:
    if argv[0] != "git":
        return None
    args = argv[1:]
    while args and args[0].startswith("-"):
        args = args[2:] if args[0] in GIT_OPTIONS_WITH_VALUE else args[1:]
    return (args[0], args[1:]) if args else None


def _no_git_push_or_commit(argv: list[str]) -> str | None:
    sub = _git_subcommand(argv)
    if sub and sub[0] in ("push", "commit"):
        return f"the pipeline runs `git {sub[0]}` itself; leave your changes uncommitted"
    return None


def _no_git_remote_change(argv: list[str]) -> str | None:
    sub = _git_subcommand(argv)
    if sub and sub[0] == "remote" and not set(sub[1]) <= GIT_REMOTE_READ_ONLY:
        return "git remotes are managed by the pipeline"
    return None


def _no_download_to_shell(call: ToolCall) -> str | None:
    names = {argv[0] for argv in call.commands()}
    if names & DOWNLOADERS and names & SHELLS:
        return "running downloaded code through a shell is not allowed"
    return None


BASH = frozenset({"Bash"})
FILE_TOOLS = frozenset({*READ_TOOLS, *WRITE_TOOLS})

RULES: tuple[Rule, ...] = (
    Rule("tool-not-allowed", None, _tool_allowed),
    Rule("path-outside-worktree", FILE_TOOLS, _inside_worktree),
    Rule("git-internals", FILE_TOOLS, _not_git_internals),
    Rule("bash-privilege", BASH, _bash_command(_no_privilege)),
    Rule("bash-gh", BASH, _bash_command(_no_gh)),
    Rule("bash-git-push-commit", BASH, _bash_command(_no_git_push_or_commit)),
    Rule("bash-git-remote", BASH, _bash_command(_no_git_remote_change)),
    Rule("bash-download-to-shell", BASH, _no_download_to_shell),
)


@dataclass(frozen=True)
class Denial:
    rule: str
    reason: str


def decide(call: ToolCall) -> Denial | None:
    """The first rule that objects to `call`, or None to allow it."""
    for rule in RULES:
        if rule.tools is None or call.tool in rule.tools:
            reason = rule.check(call)
            if reason is not None:
                return Denial(rule.name, reason)
    return None


@dataclass
class Guard:
    """The hook for one session; `denials` collects what it refused."""

    worktree: Path
    mode: Mode = "implement"
    denials: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.worktree = self.worktree.resolve()

    def hooks(self) -> dict[HookEvent, list[HookMatcher]]:
        return {"PreToolUse": [HookMatcher(hooks=[self.hook], on_failure="block")]}

    async def hook(
        self, hook_input: HookInput, _tool_use_id: str | None, _context: HookContext
    ) -> HookJSONOutput:
        if hook_input["hook_event_name"] != "PreToolUse":
            return {}
        pre_tool_use = cast(PreToolUseHookInput, hook_input)
        transcript = pre_tool_use.get("transcript_path")
        call = ToolCall(
            tool=pre_tool_use["tool_name"],
            input=dict(pre_tool_use["tool_input"] or {}),
            worktree=self.worktree,
            mode=self.mode,
            session_dir=Path(transcript).with_suffix("").resolve() if transcript else None,
        )
        denial = decide(call)
        if denial is None:
            return _decision("allow", "auto-code guard: allowed")
        self.denials.append(
            {
                "tool": call.tool,
                "input": _summary(call.input),
                "rule": denial.rule,
                "reason": denial.reason,
            }
        )
        return _decision("deny", f"auto-code guard ({denial.rule}): {denial.reason}")


def _decision(decision: Literal["allow", "deny"], reason: str) -> HookJSONOutput:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    }


def _summary(tool_input: dict[str, Any], limit: int = 300) -> str:
    """What the call was about (command or path), short enough for a run record."""
    for key in ("command", "file_path", "notebook_path", "path", "pattern"):
        if isinstance(tool_input.get(key), str):
            value = tool_input[key]
            return value if len(value) <= limit else value[:limit] + "…"
    return ", ".join(sorted(tool_input))[:limit]


def _simple_commands(command: str) -> Iterator[list[str]]:
    """Split shell text into simple commands; look inside `sh -c '…'` and `eval`."""
    for segment in _SEPARATORS.split(command):
        try:
            argv = shlex.split(segment, comments=True)
        except ValueError:  # unbalanced quotes: judge the words as they are
            argv = segment.split()
        argv = _strip_prefixes(argv)
        if not argv:
            continue
        argv[0] = os.path.basename(argv[0])
        yield argv
        if argv[0] in SHELLS and "-c" in argv[1:-1]:
            yield from _simple_commands(argv[argv.index("-c") + 1])
        elif argv[0] == "eval":
            yield from _simple_commands(" ".join(argv[1:]))


def _strip_prefixes(argv: list[str]) -> list[str]:
    """Drop `VAR=value` assignments and wrappers such as `env`/`nohup` before the command."""
    while argv:
        if _ASSIGNMENT.match(argv[0]):
            argv = argv[1:]
        elif os.path.basename(argv[0]) in COMMAND_WRAPPERS:
            argv = argv[1:]
            while argv and (argv[0].startswith("-") or argv[0].replace(".", "").isdigit()):
                argv = argv[1:]
        else:
            break
    return argv
