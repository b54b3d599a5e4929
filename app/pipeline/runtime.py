"""What the workflow's steps need at run time, installed once per process.

DBOS workflows are module-level functions recovered by name after a restart, so the objects they
use (settings, the run store, the shared clone) cannot be passed as arguments: they are installed
here when the service or the `run` command starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.config import Settings
from app.pipeline.observers import RunObserver
from app.pipeline.runs import RunStore
from app.workspace import Workspace

if TYPE_CHECKING:
    from dbos import Queue

    from app.agent.warm_client import WarmClient


@dataclass
class Runtime:
    settings: Settings
    store: RunStore
    workspace: Workspace
    warm: dict[str, WarmClient] = field(default_factory=dict)
    """Pre-started Claude clients by run id; empty after a restart, so the agent starts cold."""
    queue: Queue | None = None
    observers: list[RunObserver] = field(default_factory=list)
    """Tracing, metrics, Jira write-back: see `app.pipeline.observers`."""


_current: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("the pipeline runtime is not installed (app.pipeline.runtime.install)")
    return _current
