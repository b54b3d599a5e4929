"""The review session: read-only tools, an answer through the CLI's structured output."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.agent import AgentLimits, review
from app.agent.sessions import REVIEW_MAX_TURNS
from app.errors import AgentError
from tests.fakes.model_server import (
    STRUCTURED_OUTPUT_TOOL,
    ModelServer,
    Rule,
    structured,
    text,
    tool,
    tool_result_text,
    tool_results,
)

DIFF = """\
diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1 +1 @@
-VALUE = 1
+VALUE = 2
"""


async def test_review_returns_structured_findings(
    model: ModelServer, env: dict[str, str], worktree: Path, limits: AgentLimits
) -> None:
    finding = {"file": "app.py", "line": 1, "severity": "error", "message": "VALUE must stay 1"}
    model.script = [
        Rule(
            "REVIEW",
            [
                tool("Read", {"file_path": str(worktree / "app.py")}),
                structured({"has_issues": True, "findings": [finding]}),
            ],
        )
    ]

    result = await review(DIFF, worktree=worktree, limits=limits, env=env)

    assert result.has_issues
    assert [f.model_dump() for f in result.findings] == [finding]
    assert result.result.structured == {"has_issues": True, "findings": [finding]}
    first, second = model.main_requests()
    offered = set(first.tool_names) - {"DeferredToolPlaceholder"}  # the CLI's tool-search stub
    assert offered == {"Read", "Glob", "Grep", STRUCTURED_OUTPUT_TOOL}
    assert "+VALUE = 2" in str(first.messages)
    (read,) = tool_results(second)
    assert "VALUE = 1" in tool_result_text(read)


async def test_review_is_bounded_to_a_few_turns(
    model: ModelServer, env: dict[str, str], worktree: Path
) -> None:
    model.script = [Rule("REVIEW", [tool("Glob", {"pattern": "*.py"})] * 20)]
    limits = AgentLimits(max_turns=50, max_budget_usd=5.0, timeout_s=60)

    with pytest.raises(AgentError) as raised:
        await review(DIFF, worktree=worktree, limits=limits, env=env)

    assert raised.value.subtype == "error_max_turns"
    assert len(model.main_requests()) == REVIEW_MAX_TURNS


async def test_a_review_without_structured_output_is_an_error(
    model: ModelServer, env: dict[str, str], worktree: Path, limits: AgentLimits
) -> None:
    """The CLI insists once ("[structured-output-enforce]"); a model that still only talks
    gives no review, and no text is parsed as one."""
    model.script = [Rule("REVIEW", [text('{"has_issues": false, "findings": []}')])]

    with pytest.raises(AgentError) as raised:
        await review(DIFF, worktree=worktree, limits=limits, env=env)

    assert raised.value.subtype == "invalid_review"
    assert any("structured-output-enforce" in str(r.messages) for r in model.main_requests())
