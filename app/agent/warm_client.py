"""One Claude Code CLI process per conversation: started in the background, always stopped.

A `WarmClient` starts connecting the moment it is made, so the CLI's start-up overlaps whatever
the caller does next (`app.agent.sessions.start_warm`). It keeps the CLI's last stderr lines for
error messages, and tags the CLI's environment so that `close()` also stops what the agent's
tools left running.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from secrets import token_hex
from typing import Any

from claude_agent_sdk import ClaudeSDKClient, ClaudeSDKError

from app.agent import leaks
from app.agent.calls import Mode, Policy
from app.agent.guard import Guard
from app.agent.options import (
    AgentLimits,
    build_options,
    placeholders_to_remove,
    remove_placeholders,
)
from app.errors import AgentError
from app.process import kill_tagged

STDERR_LINES = 40
INTERRUPT_TIMEOUT_S = 5.0

SESSION_TAG_ENV = "AUTO_CODE_AGENT_SESSION"
"""Set to a fresh value in each CLI's environment, and so in every process its tools start."""
RUN_TAG_ENV = "AUTO_CODE_RUN"
"""The run id, in the environment the pipeline gives each session of a run (see
`app.pipeline.stages.session_env`): cancelling the run kills what carries it."""

_closing: set[asyncio.Task[None]] = set()
"""Shutdowns in flight; asyncio keeps only weak references to tasks."""


class WarmClient:
    """A CLI process being started in the background, used by exactly one conversation."""

    def __init__(
        self,
        worktree: Path,
        limits: AgentLimits,
        env: Mapping[str, str],
        *,
        policy: Policy,
        mode: Mode = "implement",
        resume: str | None = None,
        output_schema: dict[str, Any] | None = None,
    ) -> None:
        self.worktree = worktree.resolve()
        home = Path(env["HOME"]) if env.get("HOME") else None
        self.guard = Guard(self.worktree, mode, policy, home)
        self.secrets = leaks.credential_values(env)
        sandboxed = policy.sandbox and mode == "implement"
        self._placeholders = placeholders_to_remove(self.worktree) if sandboxed else []
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.tag = token_hex(8)
        options = build_options(
            self.worktree,
            limits,
            {**env, SESSION_TAG_ENV: self.tag},
            guard=self.guard,
            stderr=self.stderr.append,
            resume=resume,
            output_schema=output_schema,
        )
        self._client = ClaudeSDKClient(options)
        self._connecting = asyncio.create_task(self._client.connect())

    def serves(self, worktree: Path) -> bool:
        return self.worktree == worktree.resolve()

    async def ready(self) -> ClaudeSDKClient:
        """The connected client; raises AgentError if the CLI could not start."""
        try:
            await asyncio.shield(self._connecting)
        except ClaudeSDKError as exc:
            message = self.describe("Claude CLI did not start", exc)
            raise AgentError(message, subtype="cli_error") from exc
        return self._client

    async def close(self, *, interrupt: bool = True) -> None:
        """Stop the CLI; finishes even if the caller is cancelled meanwhile.

        An interrupt first makes the CLI abandon a request in flight, so it exits as soon as
        stdin closes instead of after the SDK's grace period and SIGTERM.
        """
        task = asyncio.create_task(self._shutdown(interrupt))
        _closing.add(task)
        task.add_done_callback(_closing.discard)
        await asyncio.shield(task)

    async def _shutdown(self, interrupt: bool) -> None:
        connecting = self._connecting
        if not connecting.done():
            # The SDK's connect() disconnects what it started when it is cancelled.
            connecting.cancel()
        await asyncio.wait([connecting])  # never raises; the outcome is read below
        connected = not connecting.cancelled() and connecting.exception() is None
        if interrupt and connected:
            with contextlib.suppress(ClaudeSDKError, TimeoutError):
                async with asyncio.timeout(INTERRUPT_TIMEOUT_S):
                    await self._client.interrupt()
        with contextlib.suppress(ClaudeSDKError):
            await self._client.disconnect()
        # What the agent's Bash left running (`nohup server &`) has a session of its own and
        # outlives the CLI; the tag in the environment it inherited finds it.
        await asyncio.to_thread(kill_tagged, SESSION_TAG_ENV, self.tag)
        remove_placeholders(self._placeholders)

    def describe(self, what: str, exc: BaseException | None = None) -> str:
        parts = [what + (f": {exc}" if exc else "")]
        if self.stderr:
            parts.append("CLI stderr (last lines):\n" + "\n".join(self.stderr))
        return "\n".join(parts)
