"""The guard's git rules: the pipeline owns commits, pushes, remotes, git configuration, hooks,
and the worktrees and branches of the clone every ticket shares; the agent only edits files.

Each rule but the hooks one judges one command of a Bash call by its argv (`app.agent.shell`
splits the text); they are listed, with the others, in `app.agent.rules.RULES`.
"""

from __future__ import annotations

import re

from app.agent.calls import ToolCall

GIT_OPTIONS_WITH_VALUE = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace"})
GIT_REMOTE_READ_ONLY = frozenset({"-v", "--verbose", "show", "get-url"})
GIT_CONFIG_READS = frozenset(
    {"--get", "--get-all", "--get-regexp", "--get-urlmatch", "-l", "--list", "get", "list"}
)
GIT_BRANCH_CHANGES = frozenset(
    {"-d", "-D", "--delete", "-m", "-M", "--move", "-c", "-C", "--copy", "-f", "--force"}
)
GIT_HOOKS = re.compile(
    r"\.git/hooks|hookspath|git-path\s+hooks|(?:^|/)hooks/(?:applypatch-msg|pre-applypatch|"
    r"post-applypatch|pre-commit|pre-merge-commit|prepare-commit-msg|commit-msg|post-commit|"
    r"pre-rebase|post-checkout|post-merge|pre-push|pre-receive|update|proc-receive|post-receive|"
    r"post-update|reference-transaction|push-to-checkout|pre-auto-gc|post-rewrite|"
    r"sendemail-validate|fsmonitor-watchman|post-index-change)\b",
    re.IGNORECASE | re.MULTILINE,
)


def _git_subcommand(argv: list[str]) -> tuple[str, list[str]] | None:
    if argv[0] != "git":
        return None
    args = argv[1:]
    while args and args[0].startswith("-"):
        args = args[2:] if args[0] in GIT_OPTIONS_WITH_VALUE else args[1:]
    return (args[0], args[1:]) if args else None


def no_git_push_or_commit(argv: list[str]) -> str | None:
    sub = _git_subcommand(argv)
    if sub and sub[0] in ("push", "commit"):
        return f"the pipeline runs `git {sub[0]}` itself; leave your changes uncommitted"
    return None


def no_git_remote_change(argv: list[str]) -> str | None:
    sub = _git_subcommand(argv)
    if sub and sub[0] == "remote" and not set(sub[1]) <= GIT_REMOTE_READ_ONLY:
        return "git remotes are managed by the pipeline"
    return None


def no_git_config_change(argv: list[str]) -> str | None:
    sub = _git_subcommand(argv)
    if sub and sub[0].startswith("credential"):
        return "git credentials are out of bounds for the agent"
    if sub and sub[0] == "config":
        args = sub[1]
        reads = bool(set(args) & GIT_CONFIG_READS) or (len(args) == 1 and args[0][:1] != "-")
        if not reads:
            return "git configuration (credentials, hooks, remotes) is managed by the pipeline"
    return None


def no_shared_git_change(argv: list[str]) -> str | None:
    """Worktrees and branches live in the clone shared by every ticket."""
    sub = _git_subcommand(argv)
    if sub is None:
        return None
    name, args = sub
    changes = (
        (name == "worktree" and args[:1] != ["list"])
        or (name == "branch" and bool(set(args) & GIT_BRANCH_CHANGES))
        or name in ("update-ref", "replace")
        or (name == "symbolic-ref" and len([a for a in args if not a.startswith("-")]) > 1)
    )
    return "worktrees and branches are shared with other tickets" if changes else None


def no_git_hooks(call: ToolCall) -> str | None:
    if GIT_HOOKS.search(call.command):
        return "git hooks are managed by the pipeline"
    return None
