"""What the Jira fake knows and does: issues, their comments, remote links and status, and what
each REST route does to them, without HTTP (`tests.fakes.jira_server` serves it).

Issues are created on first use. Remote links are created, or updated when their `globalId` is
known (Jira's own idempotency); the status is moved by transitions offered by name. A v3 comment
body must be an ADF document and a v2 body a string, or the answer is a 400. Every write records
the webhooks Jira would send for it.

Not thread-safe: the server holds its lock around every call.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

TRANSITIONS = (
    {"id": "11", "name": "Start work", "to": {"name": "In Progress"}},
    {"id": "21", "name": "Ready for review", "to": {"name": "In Review"}},
    {"id": "31", "name": "Done", "to": {"name": "Done"}},
)


@dataclass
class Request:
    method: str
    version: int
    route: str
    query: dict[str, str]
    body: Any
    user: dict[str, Any]


@dataclass
class Issue:
    key: str
    summary: str
    status: str = "To Do"
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, list[Any]] = field(default_factory=dict)
    """Every body each comment had, by comment id."""
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


class Issues:
    """Every issue, by key, and what an authenticated request does to them."""

    def __init__(self) -> None:
        self._ids = itertools.count(10000)
        self.by_key: dict[str, Issue] = {}

    def issue(self, key: str) -> Issue:
        if key not in self.by_key:
            self.by_key[key] = Issue(key=key, summary=f"Ticket {key}")
        return self.by_key[key]

    def handle(self, request: Request) -> tuple[int, Any]:
        """The status and JSON answer for an authenticated request (route without /rest/api/n)."""
        method, route = request.method, request.route
        parts = route.strip("/").split("/")
        if route == "/myself" and method == "GET":
            return 200, request.user
        if len(parts) < 3 or parts[0] != "issue":
            return 404, errors(f"no route {method} {route}")
        key, resource, rest = parts[1], parts[2], parts[3:]
        issue = self.issue(key)
        if resource == "comment":
            return self._comment(issue, request, rest)
        if resource == "remotelink" and method == "POST":
            return self._remote_link(issue, request.body)
        if resource == "transitions":
            return self._transition(issue, request)
        return 404, errors(f"no route {method} {route}")

    def _comment(self, issue: Issue, request: Request, rest: list[str]) -> tuple[int, Any]:
        method, version, user = request.method, request.version, request.user
        if method == "GET" and not rest:
            comments = list(issue.comments.values())
            if request.query.get("orderBy") == "-created":
                comments.reverse()
            return 200, {"comments": comments, "total": len(comments), "startAt": 0}
        if method in ("POST", "PUT"):
            text = request.body.get("body") if isinstance(request.body, dict) else None
            if (version == 3 and not isinstance(text, dict)) or (
                version == 2 and not isinstance(text, str)
            ):
                return 400, errors("Comment body is not valid!")
        if method == "POST" and not rest:
            comment_id = str(next(self._ids))
            comment = {"id": comment_id, "body": text, "author": user}
            issue.comments[comment_id] = comment
            issue.versions[comment_id] = [text]
            self._event(issue, "comment_created", "issue_commented", user, comment=comment)
            return 201, comment
        if method in ("GET", "PUT") and len(rest) == 1:
            comment = issue.comments.get(rest[0])
            if comment is None:
                return 404, errors("Can not find a comment for the id.")
            if method == "PUT":
                comment["body"] = text
                issue.versions[comment["id"]].append(text)
                self._event(issue, "comment_updated", "issue_comment_edited", user, comment=comment)
            return 200, comment
        return 405, errors(f"{method} not allowed")

    def _remote_link(self, issue: Issue, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("object"), dict):
            return 400, errors("object is required")
        global_id = body.get("globalId")
        existing = next(
            (k for k, v in issue.links.items() if global_id and v.get("globalId") == global_id),
            None,
        )
        link_id = existing or str(next(self._ids))
        issue.links[link_id] = {"id": int(link_id), **body}
        return (200 if existing else 201), {"id": int(link_id), "self": f"/remotelink/{link_id}"}

    def _transition(self, issue: Issue, request: Request) -> tuple[int, Any]:
        offered = [t for t in TRANSITIONS if t["to"]["name"] != issue.status]
        if request.method == "GET":
            return 200, {"transitions": offered}
        body = request.body if isinstance(request.body, dict) else {}
        wanted = (body.get("transition") or {}).get("id")
        chosen = next((t for t in offered if t["id"] == wanted), None)
        if chosen is None:
            return 400, errors(f"Transition id '{wanted}' is not valid for this issue.")
        before, issue.status = issue.status, chosen["to"]["name"]
        change = {
            "field": "status",
            "fieldtype": "jira",
            "fromString": before,
            "toString": issue.status,
        }
        self._event(issue, None, "issue_generic", request.user, changelog={"items": [change]})
        return 204, None

    def _event(
        self,
        issue: Issue,
        comment_event: str | None,
        type_name: str,
        user: dict[str, Any],
        **extra: Any,
    ) -> None:
        """Record the webhooks Jira sends for a write: `comment_*`, then `jira:issue_updated`."""
        body = {
            "id": "10001",
            "key": issue.key,
            "fields": {"summary": issue.summary, "labels": [], "status": {"name": issue.status}},
        }
        if comment_event:
            issue.events.append({"webhookEvent": comment_event, "issue": body, **extra})
        issue.events.append(
            {
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": type_name,
                "user": user,
                "issue": body,
                **extra,
            }
        )


def errors(message: str) -> dict[str, Any]:
    return {"errorMessages": [message], "errors": {}}
