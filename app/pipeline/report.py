"""What a run tells people: the commit message, and the pull request's title and body."""

from __future__ import annotations

from typing import Any

from app.jira.text import code_span
from app.pipeline.runs import Run
from app.ticket import Ticket

GATE_ICONS = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}


def commit_message(ticket: Ticket) -> str:
    return f"{ticket.key}: {ticket.summary}"


def pr_title(ticket: Ticket) -> str:
    return f"{ticket.key}: {ticket.summary}"[:250]


def ticket_link(ticket: Ticket, jira_base_url: str | None) -> str:
    url = ticket.url or (
        f"{jira_base_url.rstrip('/')}/browse/{ticket.key}" if jira_base_url else None
    )
    return f"[{ticket.key}]({url})" if url else ticket.key


def pr_body(run: Run, *, jira_base_url: str | None, draft: bool) -> str:
    """The PR description: the ticket, what the agent did, the gates, cost and turns."""
    record = run.record
    ticket = run.job
    lines = [f"Implements {ticket_link(ticket, jira_base_url)}: {ticket.summary}", ""]
    failing = [name for name, gate in record.get("gates", {}).items() if gate["status"] == "failed"]
    if draft and failing:
        lines += [
            "> [!WARNING]",
            f"> Opened as a draft: {', '.join(failing)} still fail(s) after the fix rounds.",
            "",
        ]
    summary = (record.get("agent_summary") or "").strip()
    if summary:
        lines += ["## What was done", "", summary, ""]
    lines += ["## Checks", "", "| Gate | Result | Fix rounds |", "|---|---|---|"]
    for name, gate in record.get("gates", {}).items():
        icon = GATE_ICONS.get(gate["status"], "")
        lines.append(f"| {name} | {icon} {gate['status']} | {gate.get('fix_rounds', 0)} |")
    lines.append("")
    lines += _failures(record, failing)
    denials = record.get("denials") or []
    if denials:
        lines += ["## Blocked agent actions", ""]
        lines += [_denial(d) for d in denials[:20]]
        if len(denials) > 20:
            lines.append(f"- … and {len(denials) - 20} more (see the run record)")
        lines.append("")
    lines += [
        "---",
        f"auto-code run `{run.id}` · {record.get('turns', 0)} turns · "
        f"${float(record.get('cost_usd', 0.0)):.2f}",
    ]
    return "\n".join(lines)


def _denial(denial: dict[str, Any]) -> str:
    """One blocked tool call: the tool, what it was asked to do (one line, cut), the rule."""
    what = " ".join(str(denial.get("input", "")).split())
    what = what if len(what) <= 120 else what[:119] + "…"
    return f"- `{denial.get('tool')}` {code_span(what)}: {denial.get('rule')}"


def _failures(record: dict[str, Any], failing: list[str]) -> list[str]:
    lines: list[str] = []
    for name in failing:
        gate = record["gates"][name]
        tail = gate.get("output_tail") or "\n".join(
            f"- {f.get('file', '')}: {f.get('message', '')}" for f in gate.get("findings", [])
        )
        if tail:
            lines += [
                f"<details><summary>{name} output</summary>",
                "",
                "```",
                tail[-3000:],
                "```",
                "",
                "</details>",
                "",
            ]
    return lines
