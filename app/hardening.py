"""Keep the service's memory out of reach of the processes it starts.

The agent's scripts run as the service's user, and Linux lets a process read another of the same
uid: `/proc/<pid>/environ` (the environment the service started with, credentials included:
`scrub_environ()` edits `os.environ`, not the kernel's copy made at exec), `/proc/<pid>/mem`, and
ptrace. A process marked non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`) refuses all three, and core
dumps, to every process without CAP_SYS_PTRACE. Its children are dumpable again once they exec,
which is fine: their environment is scrubbed.

Root holds CAP_SYS_PTRACE, so this protects nothing when the service (and therefore the agent)
runs as root; start-up says so. In the image, tini (PID 1) holds the same environment; the
Dockerfile makes it non-dumpable by making its binary unreadable to the image's user.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

PR_SET_DUMPABLE = 4

log = logging.getLogger(__name__)


def forbid_memory_access() -> bool:
    """Mark this process non-dumpable; False (logged) where the platform cannot."""
    if os.geteuid() == 0:
        log.warning(
            "service_running_as_root",
            extra={
                "detail": "root's CAP_SYS_PTRACE lets the agent's scripts read this service's "
                "memory and environment; run it as an unprivileged user"
            },
        )
    if not sys.platform.startswith("linux"):
        log.warning("process_dumpable_unavailable", extra={"platform": sys.platform})
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        error = os.strerror(ctypes.get_errno())
        log.warning("process_dumpable_unavailable", extra={"platform": "linux", "error": error})
        return False
    log.info("process_not_dumpable")
    return True
