"""The allowlist of the managed clone's `.git/config`: what `git clone` writes, nothing else."""

from __future__ import annotations

from app.git_config import parse_listing, restored, unexpected

CLONED = [
    ("core.repositoryformatversion", "0"),
    ("core.filemode", "true"),
    ("core.bare", "false"),
    ("core.logallrefupdates", "true"),
    ("remote.origin.url", "https://github.com/acme/w.git"),
    ("remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"),
    ("branch.main.remote", "origin"),
    ("branch.main.merge", "refs/heads/main"),
]


def test_the_allowlist_reads_git_s_listing() -> None:
    listing = "core.bare\nfalse\0core.sparsecheckout\0remote.origin.url\nhttps://x/y\n\0"
    assert parse_listing(listing) == [
        ("core.bare", "false"),
        ("core.sparsecheckout", None),
        ("remote.origin.url", "https://x/y\n"),
    ]


def test_the_allowlist_is_what_clone_writes() -> None:
    url = "https://github.com/acme/w.git"
    assert unexpected(CLONED, url) == []
    assert unexpected([*CLONED, ("remote.origin.url", url)], url) == ["remote.origin.url"]
    assert unexpected([*CLONED[:4], ("branch.main.merge", "refs/heads/x")], url) == [
        "branch.main.merge",
        "remote.origin.fetch (missing)",
        "remote.origin.url (missing)",
    ]
    hostile = [*CLONED, ("core.sshcommand", "sh"), ("remote.origin.url", "https://evil/w.git")]
    assert restored(hostile, url) == CLONED
