"""Jira write-back: the run observer that keeps the ticket's comment, link and status current.

Staying out of the pipeline's way: the observer's hooks only note the run's latest state and
return. A background task per run does the HTTP; while it is busy, later stages only replace
the state it will write next, so a slow Jira is shown the latest state, never a backlog. Every
failure is logged and recorded on the run (`record["jira"]["errors"]`), and none reaches the run.

What is written each time the run's state changes, in this order:

1. the run's comment: created when the first stage starts, then edited in place (a run has
   exactly one). Its id is on the run record, so a run resumed after a restart edits the same
   comment. The record also says when a creation was sent but its answer not seen (a crash or
   a lost answer); the comment is then looked up by the run id it carries, not created again;
2. the transition named by JIRA_TRANSITION_ON_START, once per run;
3. once the run has a pull request: a remote link to it, created or updated by a global id
   derived from its URL (a re-run that reuses the PR does not add a second link); and at the
   end, the transition named by JIRA_TRANSITION_ON_PR.

Our own writes must not start runs. Comments cannot: Jira reports them as `comment_*` events,
or as `jira:issue_updated` of type `issue_commented`/`issue_comment_edited`, which the trigger
policy ignores. Transitions could (see `app.jira.transitions`): without TRIGGER_LABEL they are
made only when the account we write as (`/myself`) is in IGNORE_ACCOUNT_IDS, and otherwise
skipped, with the reason on the run. Remote links are no field of the issue, and Jira's
webhooks have no event for them; the bot in IGNORE_ACCOUNT_IDS covers a site that differs.

What a run's write-back keeps, and the run record's `jira` section it saves, are in
`app.jira.writeback_state`; which ended runs are written again at start-up, in `app.jira.resync`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import copy
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from app.config import Settings
from app.jira.client import JiraClient, JiraError
from app.jira.comment import CommentContext, build_comment
from app.jira.document import to_adf, to_wiki
from app.jira.resync import runs_to_resync
from app.jira.transitions import retrigger_risk, transition_by_name
from app.jira.writeback_state import RunState
from app.pipeline.runs import Run, RunStore, utcnow

log = logging.getLogger("auto_code.jira")

CLOSE_GRACE_S = 5.0
"""How long a stopping service lets writes in flight finish."""


class JiraWriteBack:
    """A `RunObserver` (see `app.pipeline.observers`); on only when write-back is configured."""

    def __init__(self, settings: Settings, store: RunStore) -> None:
        self.settings = settings
        self.store = store
        self._runs: dict[str, RunState] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._claim = threading.Lock()
        self._jira: JiraClient | None = None
        """Made on first use, on the loop that runs the stages (a client is bound to its loop)."""
        self._me: tuple[str, ...] | None = None
        self._resync: asyncio.Future[None] | concurrent.futures.Future[None] | None = None

    @contextlib.asynccontextmanager
    async def stage(self, run: Run, name: str) -> AsyncIterator[None]:
        self._offer(run, name)
        yield

    async def run_finished(self, run: Run) -> None:
        self._offer(run, None)

    def catch_up(self) -> None:
        """At start-up, in the background on the writers' loop: offer again, one after another,
        the ended runs whose final write is missing (`app.jira.resync`)."""
        loop = self._writers_loop()
        if loop is asyncio.get_running_loop():
            self._resync = loop.create_task(self._catch_up(), name="jira-resync")
        else:
            self._resync = asyncio.run_coroutine_threadsafe(self._catch_up(), loop)

    async def _catch_up(self) -> None:
        try:
            runs = await asyncio.to_thread(runs_to_resync, self.store, utcnow())
            log.info(
                "jira_resync_started", extra={"runs": len(runs), "run_ids": [r.id for r in runs]}
            )
            for run in runs:
                self._offer(run, None)
                if task := self._tasks.get(run.id):
                    await asyncio.wait([task])
        except Exception:
            log.exception("jira_resync_failed")

    async def aclose(self) -> None:
        """Let writes in flight finish (up to `CLOSE_GRACE_S`), then close the connections.

        Both happen on the loop that runs the stages, which is not the caller's in the service
        (DBOS runs workflows on a loop of its own).
        """
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return
        if loop is asyncio.get_running_loop():
            await self._close_on_loop()
            return
        future = asyncio.run_coroutine_threadsafe(self._close_on_loop(), loop)
        with contextlib.suppress(RuntimeError, asyncio.CancelledError):
            await asyncio.wrap_future(future)

    async def _close_on_loop(self) -> None:
        if self._resync is not None:
            self._resync.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=CLOSE_GRACE_S)
        if self._jira is not None and not self._tasks:
            jira, self._jira = self._jira, None
            await jira.aclose()

    def _offer(self, run: Run, stage: str | None) -> None:
        """Note the run's latest state; start its writer task unless one is running.

        The writers and their client live on one loop (`_writers_loop`); an offer made on
        another (a cancel, on the HTTP server's, or a stage, on DBOS's) is handed to it.
        """
        loop = self._writers_loop()
        if loop is not asyncio.get_running_loop():
            loop.call_soon_threadsafe(self._offer, run, stage)
            return
        state = self._runs.get(run.id)
        if state is None:
            jira = copy.deepcopy(run.record.get("jira") or {})
            state = self._runs[run.id] = RunState(run=run, jira=jira)
        state.run, state.stage, state.dirty = run, stage, True
        if run.id not in self._tasks:
            # A fresh context: the writer outlives the stage whose log fields and spans it
            # would otherwise inherit.
            self._tasks[run.id] = asyncio.create_task(
                self._drain(state), name=f"jira-{run.id}", context=contextvars.Context()
            )

    def _writers_loop(self) -> asyncio.AbstractEventLoop:
        """The loop of the first offer or catch-up (DBOS's, or the HTTP server's), claimed under
        a lock: a stage and the catch-up may come at once, and a client must keep to one loop."""
        with self._claim:
            if self._loop is None or not self._loop.is_running():
                self._loop = asyncio.get_running_loop()
            return self._loop

    async def _drain(self, state: RunState) -> None:
        run_id = state.run.id
        while True:
            try:
                if self._jira is None:
                    self._jira = JiraClient.from_settings(self.settings)
                while state.dirty:
                    state.dirty = False
                    await self._sync(self._jira, state)
            except Exception:
                log.exception("jira_writeback_crashed", extra=state.log_fields())
            if not state.dirty:
                break
        # No await from the check above to here: an offer made meanwhile found this task.
        del self._tasks[run_id]
        if state.run.status.terminal:
            self._runs.pop(run_id, None)

    async def _sync(self, jira: JiraClient, state: RunState) -> None:
        s = self.settings
        state.failed = []
        await self._attempt(jira, state, "comment", self._write_comment)
        run = state.run
        # A run that ended without a pull request is not "in progress": a late sync (Jira was
        # down, or a catch-up at start-up) must not move its ticket there.
        if s.jira_transition_on_start and (not run.status.terminal or run.record.get("pr_url")):
            await self._attempt(jira, state, "transition_start", self._transition_on_start)
        if state.run.record.get("pr_url"):
            await self._attempt(jira, state, "remote_link", self._link_pull_request)
            if s.jira_transition_on_pr and state.run.status.terminal:
                await self._attempt(jira, state, "transition_pr", self._transition_on_pr)
        state.save(self.store, synced=state.synced(), failed=state.failed or None)

    async def _attempt(
        self,
        jira: JiraClient,
        state: RunState,
        operation: str,
        do: Callable[[JiraClient, RunState], Awaitable[None]],
    ) -> None:
        if operation in state.blocked:
            state.failed.append(operation)
            return
        try:
            await do(jira, state)
            return
        except JiraError as exc:
            if exc.refused:
                state.blocked.add(operation)
            state.record_error(self.store, operation, str(exc), exc.status)
        except Exception as exc:
            log.exception("jira_writeback_error", extra=state.log_fields())
            state.record_error(self.store, operation, f"{type(exc).__name__}: {exc}", None)
        state.failed.append(operation)

    async def _write_comment(self, jira: JiraClient, state: RunState) -> None:
        run = state.run
        blocks = build_comment(run, state.stage, self._context(run))
        body: object = to_adf(blocks) if jira.api_version == 3 else to_wiki(blocks)
        if body == state.shown:
            return
        comment_id = state.jira.get("comment_id")
        if comment_id is None and state.jira.get("comment_creating"):
            comment_id = await self._find_comment(jira, run)
        if comment_id is not None:
            try:
                await jira.update_comment(run.ticket, comment_id, body)
            except JiraError as exc:
                if exc.status != 404:
                    raise
                log.info("jira_comment_gone", extra={**state.log_fields(), "comment": comment_id})
                comment_id = None
        if comment_id is None:
            state.save(self.store, comment_creating=True)
            comment_id = await jira.add_comment(run.ticket, body)
            log.info("jira_comment_created", extra={**state.log_fields(), "comment": comment_id})
        state.shown = body
        if state.jira.get("comment_id") != comment_id or state.jira.get("comment_creating"):
            state.save(self.store, comment_id=comment_id, comment_creating=None)

    async def _find_comment(self, jira: JiraClient, run: Run) -> str | None:
        """The comment an interrupted creation may have left: the newest one naming the run."""
        for comment in await jira.recent_comments(run.ticket):
            if run.id in str(comment.get("body")) and comment.get("id"):
                return str(comment["id"])
        return None

    async def _transition_on_start(self, jira: JiraClient, state: RunState) -> None:
        assert self.settings.jira_transition_on_start
        await self._transition(jira, state, "start", self.settings.jira_transition_on_start)

    async def _transition_on_pr(self, jira: JiraClient, state: RunState) -> None:
        assert self.settings.jira_transition_on_pr
        await self._transition(jira, state, "pr", self.settings.jira_transition_on_pr)

    async def _transition(self, jira: JiraClient, state: RunState, when: str, name: str) -> None:
        """Once per run: the transition named in the settings, unless it would start a run."""
        if when in state.jira.get("transitions", {}):
            return
        fields = {**state.log_fields(), "transition": name}
        if self.settings.trigger_label is None and self._me is None:
            self._me = await jira.myself()
        unsafe = retrigger_risk(
            trigger_label=self.settings.trigger_label,
            ignore_account_ids=self.settings.ignore_account_ids,
            me=self._me or (),
        )
        if unsafe:
            log.warning("jira_transition_skipped", extra={**fields, "reason": unsafe})
            outcome: dict[str, Any] = {"name": name, "status": "skipped", "reason": unsafe}
        else:
            outcome = await transition_by_name(jira, state.run.ticket, name)
            if outcome["status"] == "missing":
                log.warning(
                    "jira_transition_missing", extra={**fields, "available": outcome["available"]}
                )
            else:
                log.info("jira_transitioned", extra=fields)
        state.save(self.store, transitions={**state.jira.get("transitions", {}), when: outcome})

    async def _link_pull_request(self, jira: JiraClient, state: RunState) -> None:
        record = state.run.record
        url = record["pr_url"]
        if state.jira.get("remote_link") == url:
            return
        number = record.get("pr_number")
        title = f"Pull request #{number}" if number else "Pull request"
        await jira.put_remote_link(
            state.run.ticket,
            {
                "globalId": f"auto-code:pull-request={url}"[:255],
                "application": {"type": "com.github", "name": "GitHub"},
                "relationship": "implemented by",
                "object": {
                    "url": url,
                    "title": f"{title}: {state.run.job.summary}"[:255],
                    "icon": {"url16x16": "https://github.com/favicon.ico", "title": "GitHub"},
                },
            },
        )
        log.info("jira_remote_link", extra={**state.log_fields(), "url": url})
        state.save(self.store, remote_link=url)

    def _context(self, run: Run) -> CommentContext:
        s = self.settings
        status_url = f"{s.public_url.rstrip('/')}/runs/{run.id}" if s.public_url else None
        return CommentContext(
            status_url=status_url, trigger_label=s.trigger_label, secrets=s.secret_values()
        )


def from_settings(settings: Settings, store: RunStore) -> list[JiraWriteBack]:
    """The write-back observer when JIRA_BASE_URL and credentials are set, else nothing."""
    return [JiraWriteBack(settings, store)] if settings.jira_writeback else []
