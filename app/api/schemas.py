"""What the API answers: the public shape of a run, and the webhook's replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.pipeline.runs import Run


class Accepted(BaseModel):
    run_id: str
    ticket: str
    status: str
    status_url: str
    duplicate: bool = False
    reason: str | None = None


class Ignored(BaseModel):
    status: str = "ignored"
    reason: str


class Problem(BaseModel):
    detail: str
    field: str | None = None


class RunEnded(Problem):
    """The run cannot be cancelled: it has already ended, with this status."""

    status: str


class StageView(BaseModel):
    name: str
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    error: dict[str, Any] | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    commands: list[dict[str, Any]] = Field(default_factory=list)


class RunView(BaseModel):
    run_id: str
    ticket: str
    summary: str
    status: str
    stage: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: str | None = None
    trigger: str | None = None
    dry_run: bool | None = None
    branch: str | None = None
    base: str | None = None
    base_commit: str | None = None
    """The commit of `base` the change is checked against, pinned before the agent ran."""
    worktree: str | None = None
    cleanup_command: str | None = None
    session_id: str | None = None
    cost_usd: float = 0.0
    turns: int = 0
    gates: dict[str, Any] = Field(default_factory=dict)
    failing_gates: list[str] = Field(default_factory=list)
    pr_url: str | None = None
    commit: str | None = None
    agent_summary: str | None = None
    explanation: str | None = None
    denials: list[dict[str, Any]] = Field(default_factory=list)
    error: dict[str, Any] | None = None
    jira: dict[str, Any] | None = None
    """Jira write-back: the comment id, remote link, transitions and any errors."""
    stages: list[StageView] = Field(default_factory=list)

    @classmethod
    def of(cls, run: Run) -> RunView:
        r = run.record
        stage_keys = {
            "name",
            "status",
            "started_at",
            "finished_at",
            "duration_s",
            "error",
            "commands",
        }
        stages = [
            StageView(
                **{k: v for k, v in s.items() if k in stage_keys},
                detail={k: v for k, v in s.items() if k not in stage_keys},
            )
            for s in r.get("stages", [])
        ]
        return cls(
            run_id=run.id,
            ticket=run.ticket,
            summary=r["job"]["summary"],
            status=run.status.value,
            stage=run.stage,
            created_at=run.created_at,
            updated_at=run.updated_at,
            stages=stages,
            **{k: r[k] for k in cls.model_fields if k in r and k not in {"stages", "summary"}},
        )


class RunList(BaseModel):
    runs: list[RunView]
