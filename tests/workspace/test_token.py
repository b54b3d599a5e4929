"""The GitHub token: never in REPO_URL, `.git` or a log, and handed to origin by the helper."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.errors import WorkspaceError
from app.process import CommandResult, command_log
from tests.fakes.git_repos import git
from tests.workspace.conftest import BRANCH, commit, make_workspace, ticket_worktree

TOKEN = "ghp_TestTokenValue0123456789"


def test_repo_url_with_credentials_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="must not contain credentials"):
        make_workspace(tmp_path, repo_url="https://x-access-token:ghp_abc@github.com/acme/w.git")


async def test_token_is_never_stored_or_logged(tmp_path: Path, origin: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", repo_url=str(origin), token=TOKEN)
    records: list[CommandResult] = []
    reset = command_log.set(records)
    try:
        worktree = await ticket_worktree(workspace)
        (worktree / "feature.py").write_text("x = 1\n")
        await workspace.push(BRANCH, commit=await commit(workspace, worktree, "PROJ-1: feature"))
        await workspace.sync()
    finally:
        command_log.reset(reset)

    git_dir = workspace.repo / ".git"
    stored = [p for p in git_dir.rglob("*") if p.is_file() and "objects" not in p.parts]
    assert (git_dir / "config") in stored
    assert not [p for p in stored if TOKEN.encode() in p.read_bytes()]
    assert TOKEN not in git("remote", "get-url", "origin", cwd=workspace.repo)
    assert len(records) > 10
    assert TOKEN not in json.dumps([record.to_record() for record in records])


class _AuthRecorder(BaseHTTPRequestHandler):
    """Answers 401 until a request carries credentials, records them, then refuses (403)."""

    seen: list[str]

    def do_GET(self) -> None:
        authorization = self.headers.get("Authorization")
        if authorization is None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="github"')
        else:
            self.seen.append(authorization)
            self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `seen`."""


@pytest.fixture
def https_like_origin() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Recorder", (_AuthRecorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/acme/widgets.git", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_token_reaches_the_remote_through_the_credential_helper(
    tmp_path: Path, https_like_origin: tuple[str, list[str]]
) -> None:
    url, seen = https_like_origin
    workspace = make_workspace(tmp_path / "ws", repo_url=url, token=TOKEN)

    with pytest.raises(WorkspaceError, match="clone of REPO_URL failed") as caught:
        await workspace.sync()

    expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert seen == [expected]
    assert TOKEN not in str(caught.value)
