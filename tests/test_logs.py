"""JSON log lines: one object a line, and a run's id, ticket and stage on every line of it."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from app import logs


@pytest.fixture
def captured(request: pytest.FixtureRequest) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    logger = logging.getLogger(f"tests.logs.{request.node.name}")
    handler = logs.json_handler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_bound_fields_reach_every_line_until_the_block_ends(captured) -> None:
    logger, stream = captured
    logger.info("before")
    with logs.bound(run_id="run_1", ticket="PROJ-1"):
        logger.info("between_stages")
        with logs.bound(stage="implement"):
            logger.info("in_stage", extra={"turns": 2})
            logger.info("explicit", extra={"stage": "review"})
        logger.info("after_stage")
    logger.info("after")

    got = {line["event"]: line for line in lines(stream)}
    assert "run_id" not in got["before"] and "run_id" not in got["after"]
    between = got["between_stages"]
    assert (between["run_id"], between["ticket"], between["stage"]) == ("run_1", "PROJ-1", None)
    assert got["in_stage"]["stage"] == "implement" and got["in_stage"]["turns"] == 2
    assert got["explicit"]["stage"] == "review", "a field given in extra= wins"
    assert got["after_stage"]["stage"] is None


def test_a_line_naming_a_run_has_ticket_and_stage_keys_even_outside_it(captured) -> None:
    logger, stream = captured
    logger.info("webhook_accepted", extra={"run_id": "run_2"})
    [line] = lines(stream)
    assert (line["run_id"], line["ticket"], line["stage"]) == ("run_2", None, None)


async def test_concurrent_runs_keep_their_own_fields(captured) -> None:
    logger, stream = captured

    async def run(run_id: str, ticket: str) -> None:
        with logs.bound(run_id=run_id, ticket=ticket, stage="implement"):
            for _ in range(3):
                logger.info("working")
                await asyncio.sleep(0)

    await asyncio.gather(run("run_a", "A-1"), run("run_b", "B-1"))
    pairs = {(line["run_id"], line["ticket"]) for line in lines(stream)}
    assert pairs == {("run_a", "A-1"), ("run_b", "B-1")}


def test_exceptions_are_one_field_and_uvicorn_colour_copies_are_dropped(captured) -> None:
    logger, stream = captured
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed", extra={"color_message": "\x1b[31mfailed\x1b[0m"})
    [line] = lines(stream)
    assert line["level"] == "error"
    assert "ValueError: boom" in line["exception"]
    assert "color_message" not in line


def test_dbos_lines_and_warnings_are_json_too() -> None:
    """DBOS installs its own plain-text console handler unless its logger already has one."""
    script = (
        "import logging, warnings\n"
        "from app import logs\n"
        "from dbos._logger import init_logger\n"
        "logs.configure('INFO')\n"
        "init_logger()\n"
        "logging.getLogger('dbos').info('DBOS launched!')\n"
        "warnings.warn('careful')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    dbos, warning = [json.loads(line) for line in result.stderr.splitlines()]
    assert (dbos["logger"], dbos["event"]) == ("dbos", "DBOS launched!")
    assert warning["logger"] == "py.warnings" and "careful" in warning["event"]
