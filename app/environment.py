"""What of the service's environment a child process inherits: never a credential.

The Claude CLI, the target repository's setup, lint and test commands, git and gh all start from
`child_env()`; each gets the one credential it needs (if any) passed explicitly.
"""

from __future__ import annotations

import os
import re

SECRET_ENV_PATTERN = re.compile(r"(TOKEN|SECRET|KEY|PASSWORD|CREDENTIALS?|_PAT)$", re.IGNORECASE)
"""Environment names that hold credentials: never inherited by the agent or the checks."""


def is_secret_env_name(name: str) -> bool:
    return bool(SECRET_ENV_PATTERN.search(name))


def scrub_environ() -> list[str]:
    """Remove credentials from this process's environment once Settings hold them.

    The Claude CLI inherits the whole environment of the service, so anything left here would be
    readable by the agent's Bash tool. git, gh and the CLI get what they need passed explicitly.
    """
    removed = [name for name in os.environ if is_secret_env_name(name)]
    for name in removed:
        del os.environ[name]
    return removed


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: ours without credentials, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not is_secret_env_name(k)}
    env.update(extra or {})
    return env
