"""Turn any body Jira sends into a `JiraEvent`, or tell why there is nothing to do.

Accepted shapes (all JSON objects):

- system webhook: `{"webhookEvent": "jira:issue_created" | "jira:issue_updated", "issue": {...},
  "user": {...}, "changelog": {"items": [...]}}`;
- Automation "Send web request", Jira format: `{"issue": {...}, "timestamp": ...}`;
- Automation format: the issue itself at the top level, `{"key": ..., "fields": {...}}`;
- a custom body with the minimum: `{"issue": {"key": ..., "fields": {"summary": ...}}}`.

Outcomes - `parse_event` returns or raises exactly one of:

- `JiraEvent`: an issue event with a valid ticket; whether it runs is `policy.decide`'s job;
- `IgnoredEvent(event, reason)`, raised for a well-formed webhook of another event
  (`comment_created`, `jira:issue_deleted`, `sprint_started`, ...). Jira sends those whenever a
  webhook subscribes to them, so they are not errors: the API answers 200 with `reason`. It is
  deliberately not an `AutoCodeError`, so no handler of errors swallows it as one;
- `PayloadError(field, message)`: the body cannot be a ticket (not an object, no issue, bad key,
  no summary). `field` is the dotted path of the culprit, e.g. `issue.key`, `issue.fields.summary`
  (`key`, `fields.summary` for an issue at the top level), or `body`.

Nothing else is raised, whatever the input. Text that reaches the prompt (summary, labels,
description) is sanitised; the key must match `KEY_PATTERN` exactly, never repaired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import ValidationError

from app.errors import PayloadError
from app.jira.markdown import to_markdown
from app.jira.text import sanitize_text
from app.ticket import KEY_PATTERN, MAX_SUMMARY_LENGTH, Ticket

ISSUE_CREATED = "jira:issue_created"
ISSUE_UPDATED = "jira:issue_updated"
AUTOMATION = "automation"
CUSTOM = "custom"
ISSUE_EVENTS = frozenset({ISSUE_CREATED, ISSUE_UPDATED})

MAX_LABELS = 100
MAX_ID_LENGTH = 200
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?")
_CONTEXT_PATH = re.compile(r"(?:/[A-Za-z0-9._~-]+)*")


@dataclass(frozen=True, slots=True)
class JiraEvent:
    """An issue event with a validated ticket."""

    event: str
    """`jira:issue_created`, `jira:issue_updated`, or `automation` / `custom` for bodies without
    `webhookEvent` (an Automation body carries a `timestamp` or the issue's `id`/`self`)."""
    ticket: Ticket
    actor_account_id: str | None = None
    """Who caused the event: `user.accountId` (Cloud), else `user.name` / `user.key` (Data
    Center). None when the body names no user (Automation and custom bodies)."""
    actor_ids: tuple[str, ...] = ()
    """Every identifier the body gives for that user (accountId, name, key), for ignore lists."""
    labels_added: tuple[str, ...] = ()
    labels_removed: tuple[str, ...] = ()
    has_changelog_labels: bool = False
    """The changelog has a `labels` item, i.e. this update changed the labels."""
    issue_event_type: str | None = None
    """`issue_event_type_name` of a system webhook: `issue_updated`, `issue_commented`, ..."""


class IgnoredEvent(Exception):
    """A well-formed body for an event auto-code does not act on; `reason` is for the 200 body."""

    def __init__(self, event: str, reason: str) -> None:
        super().__init__(reason)
        self.event = event
        self.reason = reason


def parse_event(body: object, *, jira_base_url: str | None = None) -> JiraEvent:
    """Parse a webhook body; see the module docstring for shapes and outcomes.

    `jira_base_url` (e.g. `https://acme.atlassian.net`) builds the ticket's browse URL; without it
    the URL is derived from the issue's `self` link when that is a plain http(s) URL.
    """
    if not isinstance(body, dict):
        raise PayloadError("body", "expected a JSON object")
    webhook_event = body.get("webhookEvent")
    if webhook_event is not None:
        if not isinstance(webhook_event, str) or not webhook_event.strip():
            raise PayloadError("webhookEvent", "expected a non-empty string")
        if webhook_event not in ISSUE_EVENTS:
            name = _clip(sanitize_text(webhook_event).strip(), 100) or "?"
            raise IgnoredEvent(name, f"event {name} is not an issue created/updated event")
    issue, prefix = _find_issue(body)
    if isinstance(webhook_event, str):
        event = webhook_event
    elif not prefix or "timestamp" in body or "id" in issue or "self" in issue:
        event = AUTOMATION
    else:
        event = CUSTOM
    ticket = _ticket(issue, prefix, jira_base_url)
    actor_ids = _actor_ids(body.get("user"))
    added, removed, has_labels = _label_changes(body.get("changelog"))
    type_name = body.get("issue_event_type_name")
    type_name = _clip(sanitize_text(type_name).strip(), 100) if isinstance(type_name, str) else ""
    return JiraEvent(
        event=event,
        ticket=ticket,
        actor_account_id=actor_ids[0] if actor_ids else None,
        actor_ids=actor_ids,
        labels_added=added,
        labels_removed=removed,
        has_changelog_labels=has_labels,
        issue_event_type=type_name or None,
    )


def _find_issue(body: dict[object, object]) -> tuple[dict[object, object], str]:
    """The issue object and the path prefix used in error fields ("issue." or "")."""
    if "issue" in body:
        issue = body["issue"]
        if not isinstance(issue, dict):
            raise PayloadError("issue", "expected an object")
        return issue, "issue."
    if "key" in body or "fields" in body:
        return body, ""
    raise PayloadError("body", "no issue: expected an 'issue' object, or 'key' and 'fields'")


def _ticket(issue: dict[object, object], prefix: str, jira_base_url: str | None) -> Ticket:
    key = issue.get("key")
    if key is None:
        raise PayloadError(f"{prefix}key", "required")
    if not isinstance(key, str):
        raise PayloadError(f"{prefix}key", f"expected a string, got {_json_type(key)}")
    if not KEY_PATTERN.fullmatch(key):
        raise PayloadError(f"{prefix}key", f"{_clip(key, 40)!r} is not an issue key like PROJ-123")
    fields = issue.get("fields")
    if not isinstance(fields, dict):
        problem = "required" if fields is None else f"expected an object, got {_json_type(fields)}"
        raise PayloadError(f"{prefix}fields", problem)
    summary = _summary(fields.get("summary"), f"{prefix}fields.summary")
    try:
        return Ticket(
            key=key,
            summary=summary,
            description=to_markdown(fields.get("description")),
            labels=_labels(fields.get("labels")),
            url=_browse_url(key, jira_base_url, issue.get("self")),
        )
    except ValidationError as exc:  # checked above already; kept so nothing else escapes
        raise PayloadError(f"{prefix}fields", "not a valid ticket") from exc


def _summary(value: object, field: str) -> str:
    if value is None:
        raise PayloadError(field, "required")
    if not isinstance(value, str):
        raise PayloadError(field, f"expected a string, got {_json_type(value)}")
    summary = " ".join(sanitize_text(value).split())
    if not summary:
        raise PayloadError(field, "must not be empty")
    if len(summary) > MAX_SUMMARY_LENGTH:
        raise PayloadError(field, f"longer than {MAX_SUMMARY_LENGTH} characters")
    return summary


def _labels(value: object) -> tuple[str, ...]:
    """Jira labels: strings without spaces. Anything else in the list is skipped."""
    labels: dict[str, None] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str) and (label := sanitize_text(item).strip()):
            labels[_clip(label, MAX_ID_LENGTH)] = None
    return tuple(labels)[:MAX_LABELS]


def _browse_url(key: str, jira_base_url: str | None, self_link: object) -> str | None:
    """`<base>/browse/<KEY>` from the configured base, else from the issue's REST `self` link.

    `self` is e.g. `https://acme.atlassian.net/rest/api/2/issue/10040` (Data Center may add a
    context path before `/rest/`). Only a plain http(s) host and path are trusted: the URL ends
    up in a pull request body.
    """
    if jira_base_url and jira_base_url.strip():
        return f"{jira_base_url.strip().rstrip('/')}/browse/{key}"
    if not isinstance(self_link, str):
        return None
    try:
        parts = urlsplit(self_link)
    except ValueError:
        return None
    context = parts.path.split("/rest/", 1)[0] if "/rest/" in parts.path else ""
    if (
        parts.scheme not in ("http", "https")
        or not _HOST.fullmatch(parts.netloc)
        or not _CONTEXT_PATH.fullmatch(context)
    ):
        return None
    return f"{parts.scheme}://{parts.netloc}{context}/browse/{key}"


def _actor_ids(user: object) -> tuple[str, ...]:
    if not isinstance(user, dict):
        return ()
    ids: dict[str, None] = {}
    for name in ("accountId", "name", "key"):
        value = user.get(name)
        if isinstance(value, str) and value.strip():
            ids[_clip(value.strip(), MAX_ID_LENGTH)] = None
    return tuple(ids)


def _label_changes(changelog: object) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """(added, removed, seen) from `changelog.items` entries for the `labels` field.

    `fromString` / `toString` hold the whole label list before and after, space-separated.
    """
    items = changelog.get("items") if isinstance(changelog, dict) else None
    added: dict[str, None] = {}
    removed: dict[str, None] = {}
    seen = False
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if item.get("field") != "labels" and item.get("fieldId") != "labels":
            continue
        seen = True
        before = _words(item.get("fromString"))
        after = _words(item.get("toString"))
        added.update(dict.fromkeys(label for label in after if label not in before))
        removed.update(dict.fromkeys(label for label in before if label not in after))
    return tuple(added)[:MAX_LABELS], tuple(removed)[:MAX_LABELS], seen


def _words(value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    return [_clip(word, MAX_ID_LENGTH) for word in sanitize_text(value).split()]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_type(value: object) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}
    return "object" if isinstance(value, dict) else names.get(type(value), type(value).__name__)
