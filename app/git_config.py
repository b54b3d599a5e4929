"""What the managed clone's `.git/config` may hold: what git and the service write, no more.

git applies that file to every command, including the fetches and pushes that carry the GitHub
token, and the agent's programs run as the service's user and can rewrite it. Almost any other
key could run a command next to the token or send the token elsewhere: `include.path`,
`remote.origin.pushurl=ext::...` with `protocol.ext.allow`, `url.<x>.insteadOf`,
`credential.helper`, `http.proxy`, `core.sshCommand`, filter drivers, `extensions.worktreeConfig`
(which makes git read per-worktree files too). So `app.git` checks the file against this
allowlist before each git command of the managed clone, and `restored` gives the entries a sync
writes back.

The allowlist is what `git clone --no-checkout`, `git worktree add`, `git remote set-head`,
`git fetch` and `git push` write (checked on git 2.39 with `git config --list`): the core keys
clone probes from the file system, the object format, origin's URL and default refspec, and the
default branch's tracking. Entries come from git's own parser (`git config --list -z`), never
from reading the file here, so the check cannot disagree with what git applies.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

DEFAULT_FETCH = "+refs/heads/*:refs/remotes/origin/*"
REQUIRED = ("remote.origin.url", "remote.origin.fetch")
_BOOLEAN = frozenset({"true", "false"})
_VALUES = {
    "core.repositoryformatversion": frozenset({"0", "1"}),
    "core.filemode": _BOOLEAN,
    "core.bare": frozenset({"false"}),
    "core.logallrefupdates": frozenset({"true"}),
    "core.ignorecase": _BOOLEAN,
    "core.precomposeunicode": _BOOLEAN,
    "core.symlinks": _BOOLEAN,
    "extensions.objectformat": frozenset({"sha1", "sha256"}),
    "remote.origin.fetch": frozenset({DEFAULT_FETCH}),
}
_TRACKING = re.compile(r"branch\.(?P<branch>.+)\.(?P<key>remote|merge)")

Entry = tuple[str, str | None]
"""A key (section and name lower-cased by git) and its value; None for a key without `=`."""


def parse_listing(listing: str) -> list[Entry]:
    """The entries of `git config --list -z`: `key\\nvalue\\0` each, `key\\0` without a value."""
    entries: list[Entry] = []
    for item in listing.split("\0"):
        if item:
            key, newline, value = item.partition("\n")
            entries.append((key, value if newline else None))
    return entries


def allowed(key: str, value: str | None, repo_url: str) -> bool:
    if key == "remote.origin.url":
        return value == repo_url
    if key in _VALUES:
        return value in _VALUES[key]
    tracking = _TRACKING.fullmatch(key)
    if tracking is None:
        return False
    branch = tracking["branch"]
    return value == ("origin" if tracking["key"] == "remote" else f"refs/heads/{branch}")


def unexpected(entries: Iterable[Entry], repo_url: str) -> list[str]:
    """Keys the service did not write, sorted: unknown, with another value, given twice (two
    `remote.origin.url` push to both), or required and missing."""
    entries = list(entries)
    counts = Counter(key for key, _ in entries)
    keys = {key for key, value in entries if counts[key] > 1 or not allowed(key, value, repo_url)}
    keys.update(f"{key} (missing)" for key in REQUIRED if key not in counts)
    return sorted(keys)


def restored(entries: Iterable[Entry], repo_url: str) -> list[tuple[str, str]]:
    """What to write back: the first allowed value of each key, and origin's URL and refspec."""
    kept: dict[str, str] = {}
    for key, value in entries:
        if value is not None and allowed(key, value, repo_url):
            kept.setdefault(key, value)
    kept.setdefault("remote.origin.url", repo_url)
    kept.setdefault("remote.origin.fetch", DEFAULT_FETCH)
    return list(kept.items())
