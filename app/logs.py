"""Logging: one JSON object per line, event name as the message, context as fields.

While a run is in progress its run id, ticket key and stage are bound to the running task
(`bound`); every line logged from that task, by our code or by a library, carries them. The
binding lives in a context variable, so concurrent runs on one event loop never mix them up,
and tasks started from within a stage inherit it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import IO

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_NOISE = {"color_message"}
"""Record attributes that only repeat the message (uvicorn's ANSI-coloured copy)."""

RUN_FIELDS = ("run_id", "ticket", "stage")

_bound: ContextVar[dict[str, str | None] | None] = ContextVar("log_context", default=None)


def bind(**fields: str | None) -> Token[dict[str, str | None] | None]:
    """Add `fields` to every line logged in this context, until `unbind(token)`."""
    return _bound.set({**(_bound.get() or {}), **fields})


def unbind(token: Token[dict[str, str | None] | None]) -> None:
    _bound.reset(token)


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """`bind` for the duration of a block."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


class ContextFilter(logging.Filter):
    """Copy the bound fields onto each record; a field given explicitly in `extra=` wins.

    A line about a run (logged during it, or naming its `run_id`) has all of `RUN_FIELDS`;
    the stage is null outside a stage.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_bound.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if hasattr(record, "run_id"):
            for key in RUN_FIELDS:
                if not hasattr(record, key):
                    setattr(record, key, None)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(
            {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k not in _NOISE}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def json_handler(stream: IO[str]) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    return handler


def configure(level: str = "INFO") -> None:
    """Send every logger's lines to stderr as JSON, DBOS's and Python warnings included.

    DBOS gives its "dbos" logger a plain-text console handler of its own (unless the logger
    already has one) and stops it propagating; giving it ours first keeps its lines JSON too.
    """
    handler = json_handler(sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    dbos = logging.getLogger("dbos")
    dbos.handlers[:] = [handler]
    dbos.propagate = False
    logging.captureWarnings(True)
