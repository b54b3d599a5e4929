"""The one shared clone under concurrent tickets, and while its remote disappears and comes back."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.e2e.world import GOOD, Behaviour, World, post_ticket, pr_creates, writes
from tests.faults.conftest import leftover_locks

LOCK_ERRORS = ("index.lock", "cannot lock ref", "Unable to create")


def test_concurrent_tickets_share_the_clone_and_a_vanished_remote_fails_then_recovers(
    world: World,
) -> None:
    keys = [f"SHARE-{n}" for n in range(1, 4)]
    for key in [*keys, "SHARE-9"]:
        world.model.add(key, Behaviour(writes(GOOD)))
    service = world.service("shared", MAX_CONCURRENT_TICKETS="3").start()
    workspace = Path(service.env["WORKSPACE_DIR"])
    gone = world.origin.with_name("gone.git")
    try:
        accepted = [post_ticket(service, key) for key in keys]
        together = [service.wait_for_run(a["run_id"]) for a in accepted]

        os.replace(world.origin, gone)
        try:
            failed = service.wait_for_run(post_ticket(service, "SHARE-9")["run_id"])
        finally:
            os.replace(gone, world.origin)
        recovered = service.wait_for_run(post_ticket(service, "SHARE-9")["run_id"])
        locks = leftover_locks(workspace)
    finally:
        service.stop()

    assert [run["status"] for run in together] == ["succeeded"] * 3, [
        run.get("error") for run in together
    ]
    for key in keys:
        assert len(pr_creates(world, f"ticket/{key.lower()}")) == 1
    records = json.dumps(together) + service.logs()
    assert not [text for text in LOCK_ERRORS if text in records]

    assert failed["status"] == "failed"
    assert failed["error"]["stage"] == "workspace"
    assert failed["error"]["message"].startswith("fetch from origin failed")
    assert "does not appear to be a git repository" in failed["error"]["message"]
    assert [stage["status"] for stage in failed["stages"]] == ["failed"]

    assert recovered["run_id"] != failed["run_id"]
    assert recovered["status"] == "succeeded", recovered.get("error")
    assert len(pr_creates(world, "ticket/share-9")) == 1
    assert locks == []
