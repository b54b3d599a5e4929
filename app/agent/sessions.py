"""Claude sessions of a run: a warm start, the implementation, fixes by resume, the review.

Every session is one Claude Code CLI process driven by a `ClaudeSDKClient`, started and stopped
by a `WarmClient` (`app.agent.warm_client`). The implementation session may be started early
(`start_warm`) so the CLI's start-up overlaps the rest of the setup. A fix resumes the
implementation session (`resume=<session_id>`, same worktree path and HOME), so the model sees
its own earlier work. The review is a separate, read-only session that must answer through the
CLI's structured output.

Every session is bounded by `AgentLimits.timeout_s`; whatever way it ends, its CLI process, and
anything the agent's tools left running, is stopped before the call returns or raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from claude_agent_sdk import ClaudeSDKError, ResultMessage
from pydantic import BaseModel, ConfigDict, ValidationError

from app.agent.calls import DEFAULT_POLICY, Policy
from app.agent.options import AgentLimits
from app.agent.prompts import review_prompt
from app.agent.warm_client import WarmClient
from app.config import Settings
from app.errors import AgentError
from app.redaction import redact, redact_data

logger = logging.getLogger(__name__)

LIMIT_SUBTYPES = frozenset({"error_max_turns", "error_max_budget_usd"})
"""Results that end a session early but normally: the pipeline decides what they mean."""
REVIEW_MAX_TURNS = 10


@dataclass(frozen=True)
class AgentResult:
    """How a session ended. `text` is the model's last message (its summary); `subtype` is the
    CLI's ("success", "error_max_turns", "error_max_budget_usd"); `denials` are the guard's.
    The session's own credential is redacted from `text` and `denials`."""

    session_id: str
    text: str
    cost_usd: float
    turns: int
    subtype: str
    is_error: bool
    structured: dict[str, Any] | None = None
    denials: list[dict[str, str]] = field(default_factory=list)


class Finding(BaseModel):
    """One problem: "error" must be fixed before merging, "warning" should be, "info" is a note."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    line: int | None = None
    severity: Literal["error", "warning", "info"]
    message: str


class ReviewOutput(BaseModel):
    """The review's answer; its JSON schema is the session's `output_format`."""

    model_config = ConfigDict(extra="forbid")

    has_issues: bool
    findings: list[Finding]


@dataclass(frozen=True)
class Review:
    """The reviewer's verdict. `has_issues` is also true when any finding is an "error", so a
    reviewer that reports a blocker but forgets the flag still sends the change back."""

    has_issues: bool
    findings: list[Finding]
    result: AgentResult


async def start_warm(
    worktree: Path, limits: AgentLimits, env: Mapping[str, str], *, policy: Policy = DEFAULT_POLICY
) -> WarmClient:
    """Start the implementation session's CLI now; pass the result to `implement(warm=...)`.

    If the run fails before `implement`, call `close()` on it.
    """
    return WarmClient(worktree, limits, env, policy=policy)


async def implement(
    prompt: str,
    *,
    worktree: Path,
    limits: AgentLimits,
    env: Mapping[str, str],
    warm: WarmClient | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> AgentResult:
    """Run the implementation session to the end of its turn (`policy` is for a new session;
    a warm one has its own).

    Turn and budget limits come back as a result with `is_error` set; a timeout, a CLI crash
    or an API failure raises AgentError.
    """
    session = warm or WarmClient(worktree, limits, env, policy=policy)
    if not session.serves(worktree):
        await session.close()
        raise ValueError(f"the warm session is for {session.worktree}, not {worktree}")
    return await _converse(session, prompt, limits.timeout_s)


async def fix(
    prompt: str,
    *,
    worktree: Path,
    session_id: str,
    limits: AgentLimits,
    env: Mapping[str, str],
    policy: Policy = DEFAULT_POLICY,
) -> AgentResult:
    """Send a fix request into the implementation session `session_id` (same worktree, HOME)."""
    session = WarmClient(worktree, limits, env, policy=policy, resume=session_id)
    return await _converse(session, prompt, limits.timeout_s)


async def review(
    diff_text: str,
    *,
    worktree: Path,
    limits: AgentLimits,
    env: Mapping[str, str],
    policy: Policy = DEFAULT_POLICY,
) -> Review:
    """Review the diff in a read-only session (at most REVIEW_MAX_TURNS turns).

    The answer must come as structured output matching `ReviewOutput`. There is no fallback
    to parsing text: the CLI already insists on the StructuredOutput tool, so a missing or
    invalid answer means the review did not happen, and that is an AgentError.
    """
    limits = replace(limits, max_turns=min(limits.max_turns, REVIEW_MAX_TURNS))
    schema = ReviewOutput.model_json_schema()
    session = WarmClient(worktree, limits, env, policy=policy, mode="review", output_schema=schema)
    result = await _converse(session, review_prompt(diff_text), limits.timeout_s)
    if result.is_error:
        raise AgentError(
            f"review ended without an answer ({result.subtype})", subtype=result.subtype
        )
    try:
        output = ReviewOutput.model_validate(result.structured)
    except ValidationError as exc:
        message = f"review answer is missing or invalid: {exc}"
        raise AgentError(message, subtype="invalid_review") from exc
    has_issues = output.has_issues or any(f.severity == "error" for f in output.findings)
    return Review(has_issues, output.findings, result)


def incomplete(result: AgentResult, settings: Settings) -> AgentError:
    """The error for a session that stopped at its turn or budget limit (`result.is_error`)."""
    limit = {
        "error_max_turns": f"its turn limit (MAX_TURNS={settings.max_turns})",
        "error_max_budget_usd": f"the ticket's budget (MAX_BUDGET_USD={settings.max_budget_usd:g})",
    }.get(result.subtype, result.subtype)
    return AgentError(
        f"the agent stopped at {limit} after {result.turns} turns (${result.cost_usd:.2f})",
        subtype=result.subtype,
    )


async def _converse(session: WarmClient, prompt: str, timeout_s: float) -> AgentResult:
    """Send one prompt and read to its result, within `timeout_s`; always stop the CLI."""
    result: ResultMessage | None = None
    try:
        async with asyncio.timeout(timeout_s):
            client = await session.ready()
            await client.query(redact(prompt, session.secrets))
            async for message in client.receive_response():
                if isinstance(message, ResultMessage):
                    result = message
    except TimeoutError:
        raise AgentError(
            f"Claude session timed out after {timeout_s:g}s", subtype="timeout"
        ) from None
    except ClaudeSDKError as exc:
        raise AgentError(session.describe("Claude CLI failed", exc), subtype="cli_error") from exc
    finally:
        await session.close(interrupt=result is None)
    if result is None:
        raise AgentError(session.describe("Claude CLI ended without a result"), subtype="no_result")
    return _agent_result(result, session.guard.denials, session.secrets)


def _agent_result(
    result: ResultMessage, denials: list[dict[str, str]], secrets: list[str]
) -> AgentResult:
    logger.info(
        "agent.session_ended",
        extra={
            "session_id": result.session_id,
            "subtype": result.subtype,
            "turns": result.num_turns,
            "cost_usd": result.total_cost_usd,
            "denials": len(denials),
        },
    )
    if result.is_error and result.subtype not in LIMIT_SUBTYPES:
        detail = "; ".join(result.errors or []) or result.result or "no detail"
        status = f" (HTTP {result.api_error_status})" if result.api_error_status else ""
        subtype = "api_error" if result.subtype == "success" else result.subtype
        raise AgentError(f"Claude session failed{status}: {detail}", subtype=subtype)
    structured = result.structured_output if isinstance(result.structured_output, dict) else None
    return AgentResult(
        session_id=result.session_id,
        text=redact(result.result or "", secrets),
        cost_usd=result.total_cost_usd or 0.0,
        turns=result.num_turns,
        subtype=result.subtype,
        is_error=result.is_error,
        structured=structured,
        denials=redact_data(denials, secrets),
    )
