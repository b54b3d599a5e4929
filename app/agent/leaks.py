"""What leaves with the agent's change: secret values redacted, the change checked before commit.

The agent's environment holds no service credential, but it does hold its own Claude credential
(the CLI needs it), and a prompt-injected agent may try to smuggle whatever it can read into its
change or its summary, which become a commit, a pull request and a run record. So:
- every prompt a session sends and every text it returns has the session's own credential
  replaced (`app.redaction`), and so has the run record with every configured secret;
- before the commit, every changed file is searched for every configured secret value, and CI
  definitions are refused unless ALLOW_WORKFLOW_EDITS (`check_change`); the run fails with an
  error that names the files, never the value.

Only the plain value is searched: an agent that encodes a secret first is not caught here, which
is why the credential should not be within its reach at all (see AGENT_SANDBOX).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.agent.calls import CI_DIRECTORIES
from app.environment import is_secret_env_name
from app.errors import AgentError
from app.redaction import searchable

CHUNK_BYTES = 1024 * 1024


def credential_values(env: Mapping[str, str]) -> list[str]:
    """The secret values a session was given (its Claude credential)."""
    return searchable(value for name, value in env.items() if is_secret_env_name(name))


async def check_change(
    worktree: Path, paths: Iterable[str], *, secrets: Iterable[str], allow_workflow_edits: bool
) -> None:
    """Raise AgentError if the change may not be committed: it holds a secret value, or edits
    CI definitions while they are not allowed. `paths` are the changed files, relative."""
    paths = list(paths)
    if not allow_workflow_edits:
        ci = [p for p in paths if any(p.startswith(d + "/") for d in CI_DIRECTORIES)]
        if ci:
            raise AgentError(
                f"the change edits CI definitions ({', '.join(ci[:10])}); they are not "
                "committed unless ALLOW_WORKFLOW_EDITS=true",
                subtype="workflow_edit",
            )
    values = [s.encode() for s in searchable(secrets)]
    if not values:
        return
    found = await asyncio.to_thread(_files_with_secrets, worktree, paths, values)
    if found:
        raise AgentError(
            f"refusing to commit: {', '.join(found[:10])} contain(s) the value of a configured "
            "secret (an API key or token of this service); the worktree is kept for inspection",
            subtype="secret_in_change",
        )


def _files_with_secrets(worktree: Path, paths: list[str], values: list[bytes]) -> list[str]:
    return [p for p in paths if _contains(worktree / p, values)]


def _contains(path: Path, values: list[bytes]) -> bool:
    """Whether the file (or, for a symlink, the link's text, which is what git stores) holds
    one of `values`; read in chunks that overlap by the longest value."""
    if path.is_symlink():
        return any(v in str(path.readlink()).encode() for v in values)
    if not path.is_file():
        return False
    overlap = max(len(v) for v in values) - 1
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            window = tail + chunk
            if any(v in window for v in values):
                return True
            tail = window[-overlap:] if overlap else b""
    return False
