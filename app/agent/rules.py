"""The guard's rules: what a session may do with its tools, all in one table (`RULES`).

Every tool call is judged by the rules in order; the first that objects denies the call, and its
name is recorded on the run with the tool and its input. A deployment extends the rules with
settings, not code (`app.agent.calls.Policy`): AGENT_DENY_COMMANDS adds commands the agent's
Bash may not run, ALLOW_WORKFLOW_EDITS lets the agent change CI definitions. The git rules'
checks are in `app.agent.git_rules`.

File tools are judged on the resolved path (symlinks and `..` followed), which is exact. Bash is
judged on the command text (`app.agent.shell`), which is best effort: it stops the model from
doing what the pipeline does itself and from the obvious ways out, but a program the agent writes
and then runs can do whatever its user may. The hard boundaries are elsewhere: no service
credential in the agent's environment, the pipeline's git never runs repository hooks, and the
change is checked for secrets and CI edits before it is committed (`app.agent.leaks`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from app.agent import shell
from app.agent.calls import (
    CREDENTIAL_LOCATIONS,
    IMPLEMENT_TOOLS,
    READ_TOOLS,
    REVIEW_TOOLS,
    STRUCTURED_OUTPUT_TOOL,
    WRITE_TOOLS,
    ToolCall,
)
from app.agent.git_rules import (
    no_git_config_change,
    no_git_hooks,
    no_git_push_or_commit,
    no_git_remote_change,
    no_shared_git_change,
)
from app.environment import is_secret_env_name

PRIVILEGE_TOOLS = frozenset({"sudo", "su", "doas", "pkexec", "nsenter", "chroot"})
GITHUB_CLIS = frozenset({"gh", "hub"})
DOWNLOADERS = frozenset({"curl", "wget"})
SHELL_READERS = shell.SHELLS | {"source", "."}
_CREDENTIAL_TEXT = re.compile(
    r"(?:^|[\s/'\"=:])(?:" + "|".join(map(re.escape, CREDENTIAL_LOCATIONS)) + r")(?![\w.-])"
)
_VARIABLE = re.compile(r"\$\{?!?([A-Za-z_][A-Za-z0-9_]*)")
_DUMP_OPTIONS = frozenset({"-p", "-x", "-px", "-xp", "-e", "-v"})


Check = Callable[[ToolCall], str | None]
"""Returns the reason to deny, or None to let the next rule judge."""


@dataclass(frozen=True)
class Rule:
    name: str
    tools: frozenset[str] | None
    """The tools the rule judges; None for every tool."""
    check: Check
    description: str


def _tool_allowed(call: ToolCall) -> str | None:
    allowed = REVIEW_TOOLS if call.scope.mode == "review" else IMPLEMENT_TOOLS
    if call.tool in allowed or call.tool == STRUCTURED_OUTPUT_TOOL:
        return None
    if call.scope.mode == "review":
        return f"{call.tool} is not available in a read-only review; use {', '.join(allowed)}"
    return f"{call.tool} is not available to auto-code sessions"


def _credentials(call: ToolCall) -> str | None:
    reason = "credentials are out of bounds for the agent"
    if call.tool != "Bash":
        return reason if call.path is not None and call.scope.is_credential(call.path) else None
    text = call.command
    if "/proc" in text and re.search(r"\benviron\b", text):
        return "process environments are out of bounds for the agent"
    if _CREDENTIAL_TEXT.search(text) or any(str(p) in text for p in call.scope.policy.protected):
        return reason
    base = call.cwd or call.worktree
    for word in shell.words(text):
        path = call.resolve(word, base) if ("/" in word or word.startswith(".")) else None
        if path is not None and call.scope.is_credential(path):
            return reason
    return None


def _inside_worktree(call: ToolCall) -> str | None:
    path = call.path
    if path is None:
        return "the tool call names no file path"
    pattern = call.input.get("pattern") if call.tool == "Glob" else None
    if isinstance(pattern, str) and (pattern.startswith(("/", "~")) or ".." in pattern.split("/")):
        return f"the glob {pattern} reaches outside the worktree"
    if path.is_relative_to(call.worktree):
        return None
    # Large tool outputs are saved under the session's own directory for the model to read.
    reading_own_output = call.tool in READ_TOOLS and call.session_dir is not None
    if reading_own_output and path.is_relative_to(call.session_dir):
        return None
    return f"{path} is outside the worktree {call.worktree}"


def _bash_writes_inside(call: ToolCall) -> str | None:
    outside = next((p for p in call.write_targets if not p.is_relative_to(call.worktree)), None)
    return f"{outside} is outside the worktree {call.worktree}" if outside else None


def _not_git_internals(call: ToolCall) -> str | None:
    paths = call.write_targets if call.tool == "Bash" else [call.path]
    for path in paths:
        inside = path is not None and path.is_relative_to(call.worktree)
        if inside and ".git" in path.relative_to(call.worktree).parts:
            return "files under .git are managed by the pipeline"
    return None


def _no_ci_edits(call: ToolCall) -> str | None:
    if call.scope.policy.allow_workflow_edits:
        return None
    paths = call.write_targets if call.tool == "Bash" else [call.path]
    for path in paths:
        if path is not None and call.scope.is_ci_definition(path):
            return "CI definitions may not be changed (ALLOW_WORKFLOW_EDITS is off)"
    return None


def _no_environment_dump(call: ToolCall) -> str | None:
    for command in call.commands:
        name, args = command.name, command.argv[1:]
        dumps = (
            name == "env"  # a wrapper is only left as the command when nothing follows it
            or (name == "printenv" and (not args or any(map(is_secret_env_name, args))))
            or (name in ("set", "export", "declare", "typeset", "compgen") and not args)
            or (name in ("export", "declare", "typeset", "compgen") and set(args) <= _DUMP_OPTIONS)
        )
        if dumps:
            return "printing the environment is not allowed"
    names = _VARIABLE.findall(call.command)
    if any(map(is_secret_env_name, names)):
        return "reading credential variables is not allowed"
    return None


def _bash_command(predicate: Callable[[list[str]], str | None]) -> Check:
    def check(call: ToolCall) -> str | None:
        return next((r for c in call.commands if c.argv and (r := predicate(c.argv))), None)

    return check


def _no_privilege(argv: list[str]) -> str | None:
    return f"`{argv[0]}` is not allowed" if argv[0] in PRIVILEGE_TOOLS else None


def _no_github_cli(argv: list[str]) -> str | None:
    if argv[0] in GITHUB_CLIS:
        return f"the pipeline opens the pull request; do not run {argv[0]}"
    return None


def _no_download_to_shell(call: ToolCall) -> str | None:
    names = {command.name for command in call.commands}
    if names & DOWNLOADERS and names & SHELL_READERS:
        return "running downloaded code through a shell is not allowed"
    return None


def _not_on_deny_list(call: ToolCall) -> str | None:
    for entry in call.scope.policy.deny_commands:
        pattern = shlex.split(entry)
        for command in call.commands:
            argv = command.argv
            if pattern and len(argv) >= len(pattern) and all(map(fnmatchcase, argv, pattern)):
                return f"`{entry}` is on this deployment's deny list (AGENT_DENY_COMMANDS)"
    return None


BASH = frozenset({"Bash"})
FILE_TOOLS = frozenset({*READ_TOOLS, *WRITE_TOOLS})

RULES: tuple[Rule, ...] = (
    Rule("tool-not-allowed", None, _tool_allowed, "only the session's own tools (review: read)"),
    Rule(
        "credentials",
        FILE_TOOLS | BASH,
        _credentials,
        "no ~/.config/gh, ~/.ssh, Claude/git/docker credentials, /proc/*/environ, service .env",
    ),
    Rule("path-outside-worktree", FILE_TOOLS, _inside_worktree, "file tools stay in the worktree"),
    Rule("bash-write-outside", BASH, _bash_writes_inside, "no shell writes outside the worktree"),
    Rule("git-internals", FILE_TOOLS | BASH, _not_git_internals, "nothing under .git is written"),
    Rule(
        "ci-workflow",
        frozenset(WRITE_TOOLS) | BASH,
        _no_ci_edits,
        ".github/workflows and .github/actions unchanged unless ALLOW_WORKFLOW_EDITS",
    ),
    Rule("bash-environment", BASH, _no_environment_dump, "no env dumps or $SECRET reads"),
    Rule("bash-privilege", BASH, _bash_command(_no_privilege), "no sudo, su, doas, nsenter"),
    Rule("bash-gh", BASH, _bash_command(_no_github_cli), "no gh: the pipeline opens the PR"),
    Rule(
        "bash-git-push-commit",
        BASH,
        _bash_command(no_git_push_or_commit),
        "no git push or commit: the pipeline does both",
    ),
    Rule("bash-git-remote", BASH, _bash_command(no_git_remote_change), "no git remote changes"),
    Rule("bash-git-config", BASH, _bash_command(no_git_config_change), "no git config writes"),
    Rule(
        "bash-git-shared",
        BASH,
        _bash_command(no_shared_git_change),
        "no changes to worktrees or other branches of the shared clone",
    ),
    Rule("bash-git-hooks", BASH, no_git_hooks, "no git hooks"),
    Rule("bash-download-to-shell", BASH, _no_download_to_shell, "no curl | sh"),
    Rule("deny-list", BASH, _not_on_deny_list, "AGENT_DENY_COMMANDS"),
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
