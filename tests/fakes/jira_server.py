"""A local stand-in for Jira's REST API (v2 and v3), for testing write-back with no Jira.

    jira = JiraServer().start()              # 127.0.0.1, a free port, a background thread
    env = {"JIRA_BASE_URL": jira.url, **jira.cloud_env()}      # or jira.datacenter_env()
    ... run the service ...
    jira.comments("PROJ-1")      # [{"id", "body", "versions": [every body it had], ...}]
    jira.requests                # every request: method, version, route, query, body, auth
    jira.webhooks("PROJ-1")      # what Jira would send to webhooks for the writes so far

What it keeps, and what each route does, is `tests.fakes.jira_issues`; this module serves it
over HTTP. Authentication is checked like Jira does it: basic auth with the email and API token,
or a bearer personal access token; anything else is a 401.

Faults, matched by a regular expression on `"<METHOD> <route>"` (the route without
`/rest/api/<n>`, e.g. `POST /issue/BUSY-1/comment`), so one server serves tickets that each
misbehave in their own way:

    jira.fault(r"/issue/DENY-1/", status=403)                       # every call for DENY-1
    jira.fault(r"POST /issue/BUSY-1/comment$", status=429, times=2, headers={"Retry-After": "1"})
    jira.fault(r"/issue/DOWN-1/", drop=True)                        # close without an answer
    jira.fault(r"/issue/SLOW-1/", hold=True); ...; jira.release()  # answer only when released
    jira.fault(r"POST /issue/LOST-1/comment$", act_then_hold=True)  # do it, then never answer
    jira.heal(r"/issue/DOWN-1/")                                    # Jira is well again
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.jira_issues import Issues, Request, errors

EMAIL = "auto-code@example.com"
API_TOKEN = "jira-cloud-api-token-0123456789"
PAT = "jira-dc-personal-access-token-0123456789"
BOT_ACCOUNT_ID = "712020:auto-code-bot"
BOT_NAME = "auto-code-bot"

_ROUTE = re.compile(r"/rest/api/([23])(/.*)")


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = None
    """How many requests it applies to; None: all of them."""
    drop: bool = False
    hold: bool = False
    act_then_hold: bool = False


class JiraServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._requests: list[dict[str, Any]] = []
        self._issues = Issues()
        self._faults: list[Fault] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> JiraServer:
        handler = type("Handler", (_Handler,), {"jira": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-jira",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._httpd = self._thread = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @staticmethod
    def cloud_env() -> dict[str, str]:
        return {"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": API_TOKEN}

    @staticmethod
    def datacenter_env() -> dict[str, str]:
        return {"JIRA_PAT": PAT}

    def fault(self, pattern: str, **kwargs: Any) -> None:
        with self._lock:
            self._faults.append(Fault(re.compile(pattern), **kwargs))

    def heal(self, pattern: str) -> None:
        """Drop the faults added with `pattern` (requests already held stay held)."""
        with self._lock:
            self._faults = [f for f in self._faults if f.pattern.pattern != pattern]

    def release(self) -> None:
        """Answer every held request (and any held later)."""
        self._released.set()

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, key: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if f"/issue/{key}/" in r["route"] + "/"]

    def comments(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            issue = self._issues.by_key.get(key)
            if issue is None:
                return []
            found = [{**c, "versions": issue.versions[c["id"]]} for c in issue.comments.values()]
            return json.loads(json.dumps(found))

    def delete_comment(self, key: str, comment_id: str) -> None:
        """What a person deleting the bot's comment in Jira does."""
        with self._lock:
            del self._issues.issue(key).comments[comment_id]

    def remote_links(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            issue = self._issues.by_key.get(key)
            return [json.loads(json.dumps(link)) for link in issue.links.values()] if issue else []

    def status(self, key: str) -> str:
        with self._lock:
            return self._issues.issue(key).status

    def webhooks(self, key: str) -> list[dict[str, Any]]:
        """The webhook bodies Jira would send for the writes made to `key` so far."""
        with self._lock:
            issue = self._issues.by_key.get(key)
            return json.loads(json.dumps(issue.events)) if issue else []

    # --- request handling (called by the handler threads) -----------------------------------

    def _fault_for(self, what: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.pattern.search(what) and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    jira: JiraServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        jira = self.jira
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query))
        matched = _ROUTE.fullmatch(split.path)
        version, route = (int(matched.group(1)), matched.group(2)) if matched else (0, split.path)
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        auth, user = self._authenticate(version)
        request = Request(self.command, version, route, query, body, user)
        with jira._lock:
            jira._requests.append({**asdict(request), "auth": auth, "authorized": bool(user)})
        fault = jira._fault_for(f"{self.command} {route}")
        if fault and fault.drop:
            self.close_connection = True
            return
        if fault and fault.hold:
            jira._released.wait()
        if user is None:
            self._send(401, errors("You are not authenticated. Authentication required."), {})
            return
        if fault and fault.status:
            self._send(fault.status, errors(f"fault {fault.status}"), fault.headers)
            return
        with jira._lock:
            status, payload = jira._issues.handle(request)
        if fault and fault.act_then_hold:
            jira._released.wait()
            self.close_connection = True
            return
        self._send(status, payload, {})

    def _authenticate(self, version: int) -> tuple[str | None, dict[str, Any] | None]:
        header = self.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                given = base64.b64decode(value).decode()
            except ValueError:
                given = ""
            ok = given == f"{EMAIL}:{API_TOKEN}"
            return "basic", _user(version) if ok else None
        if scheme.lower() == "bearer":
            return "bearer", _user(version) if value == PAT else None
        return None, None

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _user(version: int) -> dict[str, Any]:
    if version == 3:
        return {"accountId": BOT_ACCOUNT_ID, "displayName": "auto-code", "emailAddress": EMAIL}
    return {"name": BOT_NAME, "key": "JIRAUSER10100", "displayName": "auto-code"}
