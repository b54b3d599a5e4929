"""Run a test's processes as an unprivileged user, where running as root would prove nothing.

Tests run as root here and in CI, and root reads any process's memory (CAP_SYS_PTRACE) and any
file. A test about what one process of a user can see of another therefore runs all of them as
`UID` (nobody) through `as_unprivileged()`; when the tests do not run as root, they all run as
the current user and the prefix is empty.

The prefix keeps one capability, CAP_DAC_READ_SEARCH, and nothing else (bounding set included, so
no setuid program gives more back): the interpreter may live in root's home (pyenv under /root,
mode 0700) and pytest's temporary directories are root's. It bypasses read and search permission
on files only: not writes (`give_to_unprivileged` hands the directories over), not the kernel's
ptrace checks, and not access(2), which git uses on paths (give git a directory of its own).
Every process started with the prefix holds the same set, so the kernel's rule that a reader must
hold all of its target's capabilities decides nothing between them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

UID = GID = 65534
CAPS = "-all,+dac_read_search"


def as_unprivileged() -> list[str]:
    """The argv prefix that runs a command as `UID` when we are root; empty otherwise."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run test processes as an unprivileged user"
    return [
        setpriv,
        f"--reuid={UID}",
        f"--regid={GID}",
        "--clear-groups",
        f"--inh-caps={CAPS}",
        f"--ambient-caps={CAPS}",
        f"--bounding-set={CAPS}",
        "--",
    ]


def give_to_unprivileged(root: Path) -> None:
    """Make `root` and everything under it `UID`'s when we are root (for writing)."""
    if os.geteuid() != 0:
        return
    for directory, _dirs, files in os.walk(root):
        os.chown(directory, UID, GID)
        for name in files:
            os.chown(os.path.join(directory, name), UID, GID, follow_symlinks=False)
