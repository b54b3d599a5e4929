"""Errors raised by the pipeline, each carrying the fields callers branch on.

    AutoCodeError
    ├── PayloadError            a webhook body we cannot turn into a ticket (field, message)
    ├── RepoConfigError         an invalid `.auto-code.toml` in the target repository
    └── PipelineError           a run stage failed (stage)
        ├── WorkspaceError      git clone / fetch / worktree / commit / push (command result)
        │   └── TamperingError  the shared clone's git configuration was changed during a run
        ├── AgentError          a Claude session failed, timed out, ran out of turns (subtype)
        └── PullRequestError    gh could not find or open the pull request (command result)

A gate that still fails after its fix rounds is not an error: the run opens a draft PR instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.process import CommandResult


class AutoCodeError(Exception):
    """Base of every error auto-code raises on purpose."""


class PayloadError(AutoCodeError):
    """The webhook body is not a ticket we can run: `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RepoConfigError(AutoCodeError):
    """The target repository's `.auto-code.toml` cannot be used."""


class PipelineError(AutoCodeError):
    """A stage of a run failed; `stage` names it."""

    stage = "pipeline"

    def __init__(self, message: str, *, result: CommandResult | None = None) -> None:
        super().__init__(message)
        self.result = result

    @property
    def output_tail(self) -> str:
        return self.result.tail() if self.result else ""


class WorkspaceError(PipelineError):
    stage = "workspace"


class TamperingError(WorkspaceError):
    """Something other than the service (the agent's programs) rewrote the clone's git config."""


class AgentError(PipelineError):
    stage = "agent"

    def __init__(self, message: str, *, subtype: str = "error") -> None:
        super().__init__(message)
        self.subtype = subtype


class PullRequestError(PipelineError):
    stage = "pull_request"
