"""Whether a parsed Jira event starts a run.

Rules, first match wins:

1. an event caused by one of `ignore_account_ids` (our own bot) never runs: the bot's own edits
   and comments must not start a run on the ticket it is working on;
2. with `allowed_projects` set, tickets of other projects never run;
3. with `trigger_label` set, the label opts a ticket in:
   - the ticket must carry the label (compared case-insensitively, as Jira's label search does);
   - a `jira:issue_updated` runs only when its changelog shows the label was *just added*. Every
     later edit of a labelled ticket also fires `jira:issue_updated` with the label present;
     those must not start the ticket again;
   - created events, Automation and custom bodies run whenever the label is present: the rule
     that sent them already decided that now is the moment;
4. without `trigger_label`, every ticket is opted in. Created events, Automation and custom
   bodies run. A `jira:issue_updated` runs too: its changelog rarely says whether the change
   matters (a status change may be the team's "go"), and a repeated start is cheap because runs
   are deduplicated per ticket downstream and an existing pull request is updated, not
   duplicated. The exception is an update that is only a comment or a worklog
   (`issue_event_type_name`): it does not change the ticket the agent works from, and the bot
   commenting on its own ticket must not start it again even when its account is not in
   `ignore_account_ids`.

`Decision.reason` is a human-readable sentence without an "ignored:" prefix; the API returns it
to Jira in the 200 body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.jira.payload import ISSUE_UPDATED, JiraEvent

COMMENT_OR_WORKLOG_EVENTS = frozenset(
    {
        "issue_commented",
        "issue_comment_edited",
        "issue_comment_deleted",
        "issue_worklog_updated",
        "issue_worklog_deleted",
        "issue_work_logged",
    }
)


@dataclass(frozen=True, slots=True)
class Decision:
    run: bool
    reason: str


def decide(
    event: JiraEvent,
    *,
    trigger_label: str | None,
    allowed_projects: Sequence[str],
    ignore_account_ids: Sequence[str],
) -> Decision:
    """Apply the rules of the module docstring to one event."""
    ticket = event.ticket
    ignored_accounts = set(_items(ignore_account_ids))
    if ignored_actor := next((a for a in event.actor_ids if a in ignored_accounts), None):
        return Decision(False, f"{ticket.key}: event caused by ignored account {ignored_actor}")

    projects = {project.upper() for project in _items(allowed_projects)}
    if projects and ticket.project not in projects:
        return Decision(False, f"{ticket.key}: project {ticket.project} is not allowed")

    label = trigger_label.strip() if trigger_label else ""
    if label:
        wanted = label.casefold()
        if not any(existing.casefold() == wanted for existing in ticket.labels):
            return Decision(False, f"{ticket.key} does not carry the label '{label}'")
        if event.event == ISSUE_UPDATED:
            if not any(added.casefold() == wanted for added in event.labels_added):
                return Decision(
                    False, f"{ticket.key}: the label '{label}' was not just added by this update"
                )
            return Decision(True, f"{ticket.key}: the label '{label}' was added")
        return Decision(True, f"{ticket.key} carries the label '{label}' ({event.event})")

    if event.event == ISSUE_UPDATED and event.issue_event_type in COMMENT_OR_WORKLOG_EVENTS:
        return Decision(False, f"{ticket.key}: {event.issue_event_type} does not change the ticket")
    return Decision(True, f"{ticket.key}: {event.event}")


def _items(values: Sequence[str]) -> list[str]:
    """Configured values, stripped; a bare string is read as a comma-separated list."""
    parts = values.split(",") if isinstance(values, str) else values
    return [part.strip() for part in parts if isinstance(part, str) and part.strip()]
