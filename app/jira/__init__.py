"""Jira: webhook bodies → `JiraEvent`, the trigger policy, and descriptions → Markdown.

Typical use at the HTTP edge::

    try:
        event = parse_event(body, jira_base_url=settings.jira_base_url)
    except IgnoredEvent as ignored:      # another Jira event: 200, {"status": "ignored", ...}
        return ignored.reason
    except PayloadError as exc:          # not a usable ticket: 422 with exc.field
        return exc.field, exc.message
    decision = decide(event, trigger_label=..., allowed_projects=..., ignore_account_ids=...)
    if not decision.run:                 # 200 with decision.reason
        return decision.reason
    ...queue event.ticket...
"""

from app.jira.markdown import to_markdown
from app.jira.payload import (
    AUTOMATION,
    CUSTOM,
    ISSUE_CREATED,
    ISSUE_EVENTS,
    ISSUE_UPDATED,
    IgnoredEvent,
    JiraEvent,
    parse_event,
)
from app.jira.policy import Decision, decide
from app.jira.text import sanitize_text

__all__ = [
    "AUTOMATION",
    "CUSTOM",
    "ISSUE_CREATED",
    "ISSUE_EVENTS",
    "ISSUE_UPDATED",
    "Decision",
    "IgnoredEvent",
    "JiraEvent",
    "decide",
    "parse_event",
    "sanitize_text",
    "to_markdown",
]
