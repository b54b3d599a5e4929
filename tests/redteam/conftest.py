"""One world and one service for the whole red-team package: every attack is a ticket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.world import World, world_fixture
from tests.fakes.otlp_receiver import OtlpReceiver
from tests.fakes.service import Service
from tests.redteam.attacks import start_service

world = world_fixture("redteam", scope="package")


@pytest.fixture(scope="package")
def langfuse() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="package")
def service(world: World, langfuse: OtlpReceiver) -> Iterator[Service]:
    service = start_service(world, langfuse)
    yield service
    service.stop()
