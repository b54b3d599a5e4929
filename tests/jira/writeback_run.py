"""A run's bookkeeping, played the way the workflow does it, for the write-back observer's tests.

Stages are entered the way `tracking.tracked_stage` enters them; `aclose()` (what the service
calls before it stops) is the point where the background writes have ended.
"""

from __future__ import annotations

from typing import Any

from app.config import Settings
from app.jira.writeback import JiraWriteBack
from app.pipeline.runs import Run, RunStatus, RunStore, utcnow
from app.ticket import Ticket
from tests.fakes.jira_server import BOT_ACCOUNT_ID, BOT_NAME, JiraServer

PUBLIC = "https://auto-code.example.com"


def settings(jira: JiraServer, *, datacenter: bool = False, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "jira_base_url": jira.url,
        "jira_transition_on_start": "In Progress",
        "jira_transition_on_pr": "Ready for review",
        "ignore_account_ids": [BOT_NAME if datacenter else BOT_ACCOUNT_ID],
        "public_url": PUBLIC,
        "jira_timeout_s": 5,
        "jira_retries": 1,
        **(jira.datacenter_env() if datacenter else jira.cloud_env()),
        **overrides,
    }
    return Settings(**{k.lower(): v for k, v in values.items()})


class Pipeline:
    """Plays a run's bookkeeping the way the workflow does, with the observer watching."""

    def __init__(self, store: RunStore, writer: JiraWriteBack, key: str) -> None:
        self.store = store
        self.writer = writer
        self.run = store.admit(
            Ticket(key=key, summary="Add a greeting"), delivery_id=None, trigger="custom"
        ).run

    async def stage(self, name: str, **fields: Any) -> Run:
        def start(record: dict[str, Any]) -> None:
            record.setdefault("stages", []).append(
                {"name": name, "status": "running", "started_at": utcnow().isoformat()}
            )

        run = self.store.update(
            self.run.id, status=RunStatus.RUNNING, stage=name, mutate=start, **fields
        )
        async with self.writer.stage(run, name):
            pass
        await self.writer.aclose()
        return run

    async def finish(self, status: RunStatus, **fields: Any) -> Run:
        run = self.store.update(
            self.run.id, status=status, stage="done", finished_at=utcnow().isoformat(), **fields
        )
        await self.writer.run_finished(run)
        await self.writer.aclose()
        return run

    def jira_record(self) -> dict[str, Any]:
        run = self.store.get(self.run.id)
        assert run is not None
        return run.record.get("jira", {})


PASSED = {
    "review": {"status": "passed", "fix_rounds": 1},
    "lint": {"status": "passed", "fix_rounds": 0},
}


async def run_to_pull_request(pipeline: Pipeline, pr: int = 7) -> Run:
    await pipeline.stage("workspace")
    await pipeline.stage("implement")
    await pipeline.stage("fix_review#1", gates={"review": {"status": "failed", "fix_rounds": 0}})
    await pipeline.stage("pull_request", gates=PASSED)
    url = f"https://github.com/acme/widgets/pull/{pr}"
    return await pipeline.finish(
        RunStatus.SUCCEEDED, pr_url=url, pr_number=pr, gates=PASSED, cost_usd=0.25, turns=9
    )
