"""Plain test data for the Jira package: body factories and the real samples."""

from __future__ import annotations

from typing import Any

BASE = "https://acme.atlassian.net"
HUMAN = "557058:0a1b2c3d-human"
BOT = "712020:auto-code-bot"


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()
"""Pass as a value to leave the key out of the body altogether."""


def _drop_omitted(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not OMIT}


def make_issue(
    *,
    key: Any = "PROJ-1",
    summary: Any = "Add a /health endpoint",
    description: Any = "h2. Goal\nReturn *ok* from {{GET /health}}.",
    labels: Any = ("auto-code",),
    **fields: Any,
) -> dict[str, Any]:
    """A REST-shaped issue; `fields` adds or overrides entries of `issue.fields`."""
    all_fields = {
        "summary": summary,
        "description": description,
        "labels": list(labels) if isinstance(labels, tuple) else labels,
        "project": {"key": key.split("-")[0] if isinstance(key, str) else "PROJ"},
        **fields,
    }
    return _drop_omitted(
        {
            "id": "10001",
            "self": f"{BASE}/rest/api/2/issue/10001",
            "key": key,
            "fields": _drop_omitted(all_fields),
        }
    )


def make_issue_event(
    *,
    event: Any = "jira:issue_created",
    issue: Any = None,
    account_id: Any = HUMAN,
    labels_change: tuple[str | None, str | None] | None = None,
    type_name: Any = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A Jira system webhook body.

    `labels_change=(fromString, toString)` adds a `labels` changelog item; `overrides` replace
    top-level keys (OMIT removes one).
    """
    items: list[dict[str, Any]] = [
        {"field": "status", "fieldtype": "jira", "fromString": "To Do", "toString": "Doing"}
    ]
    if labels_change is not None:
        before, after = labels_change
        items.append(
            {"field": "labels", "fieldtype": "jira", "fieldId": "labels", "from": None,
             "fromString": before, "to": None, "toString": after}
        )  # fmt: skip
    default_type = "issue_created" if event == "jira:issue_created" else "issue_updated"
    body = {
        "timestamp": 1_700_000_000_000,
        "webhookEvent": event,
        "issue_event_type_name": type_name or default_type,
        "user": {"self": f"{BASE}/rest/api/2/user?accountId={account_id}", "accountId": account_id},
        "issue": make_issue() if issue is None else issue,
        "changelog": {"id": "10100", "items": items},
        **overrides,
    }
    return _drop_omitted(body)


def make_automation_body(**issue: Any) -> dict[str, Any]:
    """Automation "Send web request", Issue data (Jira format)."""
    return {"timestamp": 1_700_000_000_000, "issue": make_issue(**issue)}


def make_automation_top_level(**issue: Any) -> dict[str, Any]:
    """Automation "Send web request", Issue data (Automation format): the issue is the body."""
    body = make_issue(**issue)
    body["changelog"] = {"startAt": 0, "maxResults": 0, "total": 0, "histories": None}
    return body


def make_custom_body(
    *, key: Any = "PROJ-7", summary: Any = "Fix the typo", description: Any = OMIT
) -> dict[str, Any]:
    """The minimal body of the seed service's contract."""
    return {
        "issue": {
            "key": key,
            "fields": _drop_omitted({"summary": summary, "description": description}),
        }
    }
