"""Jira transitions by name, and whether making one would start a run of our own.

A transition is named in the settings as Jira shows it to people: the transition's name
("Start work") or the status it leads to ("In Progress"), in any case. Its id differs per
workflow, so it is looked up on the issue each time.

Jira reports a transition as an ordinary `jira:issue_updated`. Without TRIGGER_LABEL the trigger
policy starts a run for such an update unless its author is in IGNORE_ACCOUNT_IDS: a transition
made by an account not ignored would start the ticket again after every run, without end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.jira.client import JiraClient


async def transition_by_name(jira: JiraClient, key: str, name: str) -> dict[str, Any]:
    """Apply the transition `name`; the outcome for the run record.

    `{"status": "done"}`, or `{"status": "missing", "available": [...]}` when the issue does not
    offer it now (another workflow, or the issue is already past it).
    """
    offered = await jira.transitions(key)
    match = next((t for t in offered if _leads_to(t, name)), None)
    if match is None:
        return {
            "name": name,
            "status": "missing",
            "available": [str(t.get("name")) for t in offered],
        }
    await jira.transition(key, str(match["id"]))
    return {"name": name, "status": "done"}


def retrigger_risk(
    *, trigger_label: str | None, ignore_account_ids: Sequence[str], me: Sequence[str]
) -> str | None:
    """Why a transition made as the account `me` (its ids) would start a run; None if it cannot."""
    if trigger_label or set(me) & set(ignore_account_ids):
        return None
    account = me[0] if me else "the account of JIRA_EMAIL / JIRA_PAT"
    return (
        "without TRIGGER_LABEL the transition's issue_updated event would start a new run; "
        f"add {account} to IGNORE_ACCOUNT_IDS to allow transitions"
    )


def _leads_to(transition: dict[str, Any], name: str) -> bool:
    target = transition.get("to")
    status = target.get("name") if isinstance(target, dict) else None
    return name.casefold() in (str(transition.get("name", "")).casefold(), str(status).casefold())
