"""What write-back keeps for one run, and the run record's `jira` section it saves.

The section: `comment_id` (and `comment_creating` while a creation is unconfirmed),
`remote_link` (the PR URL linked), `transitions` (each one's outcome), `errors` (the latest
failures), `synced` (what the latest sync was for: `running:<stage>` or the status) and `failed`
(the operations that sync could not do). An ended run whose `synced` is not its status, or with
`failed`, is offered again at the next start-up (`app.jira.resync`).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from app.pipeline.runs import Run, RunStore, utcnow

log = logging.getLogger("auto_code.jira")

MAX_ERRORS = 20
"""Write-back errors kept on a run (the latest)."""


@dataclass
class RunState:
    """One run as write-back sees it: its latest state, what was written, what Jira refused."""

    run: Run
    jira: dict[str, Any]
    """The run record's `jira` section, as this process last wrote it."""
    stage: str | None = None
    dirty: bool = True
    shown: object = None
    """The comment body last written."""
    blocked: set[str] = field(default_factory=set)
    """Operations Jira refused for good (401, 403, 404, ...): not tried again for this run."""
    failed: list[str] = field(default_factory=list)
    """Operations the sync in progress could not do (refused, failed, or blocked)."""

    def synced(self) -> str:
        """What the latest sync wrote: `running:<stage>`, or the run's final status."""
        run = self.run
        return run.status.value if run.status.terminal else f"running:{self.stage}"

    def record_error(
        self, store: RunStore, operation: str, message: str, status: int | None
    ) -> None:
        log.warning(
            "jira_writeback_failed",
            extra={
                **self.log_fields(),
                "operation": operation,
                "status": status,
                "error": message,
            },
        )
        entry = {
            "operation": operation,
            "message": message,
            "status": status,
            "at": utcnow().isoformat(),
        }
        errors = [*self.jira.get("errors", []), entry][-MAX_ERRORS:]
        self.save(store, errors=errors)

    def save(self, store: RunStore, **changes: Any) -> None:
        """Apply `changes` (None removes a key) and write the section to the run record.

        Called on the loop, like the stages' own bookkeeping: the record is read, changed and
        written back in one call, so a write from another thread could lose a stage's update.
        """
        for key, value in changes.items():
            if value is None:
                self.jira.pop(key, None)
            else:
                self.jira[key] = value
        section = copy.deepcopy(self.jira)
        store.update(self.run.id, mutate=lambda record: record.__setitem__("jira", section))

    def log_fields(self) -> dict[str, Any]:
        return {"run_id": self.run.id, "ticket": self.run.ticket}
