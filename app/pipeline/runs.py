"""Run records: what a run is doing and what came of it, in the same database as the queue.

A run is written before the webhook answers 202. At most one run per ticket is active (queued or
running): a partial unique index enforces it, so two concurrent deliveries for one ticket cannot
both create a run, whichever process receives them. A delivery identifier maps to one run forever.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.redaction import redact_data, searchable
from app.ticket import Ticket


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    GATES_FAILING = "gates_failing"
    """Finished, but a gate still fails after its fix rounds: the PR is a draft."""
    NO_CHANGES = "no_changes"
    FAILED = "failed"
    CANCELLED = "cancelled"
    """Stopped by the operator (POST /runs/{id}/cancel); final: nothing sets another status."""

    @property
    def terminal(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


ACTIVE = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
_ACTIVE_SQL = sa.text("status IN ('queued', 'running')")

metadata = sa.MetaData()

runs_table = sa.Table(
    "auto_code_runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("ticket", sa.String(120), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("stage", sa.String(40)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
    sa.Index(
        "auto_code_runs_one_active_per_ticket",
        "ticket",
        unique=True,
        sqlite_where=_ACTIVE_SQL,
        postgresql_where=_ACTIVE_SQL,
    ),
)

deliveries_table = sa.Table(
    "auto_code_deliveries",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_run_id() -> str:
    return "run_" + secrets.token_hex(8)


@dataclass
class Run:
    id: str
    ticket: str
    status: RunStatus
    stage: str | None
    created_at: datetime
    updated_at: datetime
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def job(self) -> Ticket:
        return Ticket.model_validate(self.record["job"])


@dataclass(frozen=True)
class Admission:
    """The outcome of offering a delivery: the run it maps to, and whether it is new."""

    run: Run
    created: bool
    reason: str = ""


class RunStore:
    def __init__(self, database_url: str, *, secret_values: Iterable[str] = ()) -> None:
        """`secret_values` are replaced wherever they appear in what `update` writes: command
        output and agent text on the record can carry a credential (see `app.redaction`).

        Writes in this process take turns on a lock. SQLite admits one writer at a time and
        makes the others retry in sleeps of growing length: in a burst of webhooks, admissions
        that kept losing that race answered after seconds; queued on the lock they answer in
        arrival order (bench/ack.py).
        """
        self._secret_values = searchable(secret_values)
        self._update_lock = threading.Lock()
        connect_args = {"timeout": 30} if database_url.startswith("sqlite") else {}
        self.engine = sa.create_engine(database_url, connect_args=connect_args)
        if database_url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    def admit(self, job: Ticket, *, delivery_id: str | None, trigger: str) -> Admission:
        """Create a queued run for `job`, unless this delivery or an active run already has one."""
        now = utcnow()
        run_id = new_run_id()
        record = {
            "job": job.model_dump(mode="json"),
            "trigger": trigger,
            "delivery_id": delivery_id,
        }
        try:
            with self._update_lock, self._tx() as conn:
                if delivery_id:
                    existing = conn.execute(
                        sa.select(deliveries_table.c.run_id).where(
                            deliveries_table.c.id == delivery_id
                        )
                    ).scalar_one_or_none()
                    if existing is not None:
                        run = self._get(conn, existing)
                        if run is not None:
                            return Admission(run, False, "delivery already received")
                    conn.execute(
                        deliveries_table.insert().values(
                            id=delivery_id, run_id=run_id, received_at=now
                        )
                    )
                conn.execute(
                    runs_table.insert().values(
                        id=run_id,
                        ticket=job.key,
                        status=RunStatus.QUEUED.value,
                        stage=None,
                        created_at=now,
                        updated_at=now,
                        record=record,
                    )
                )
        except IntegrityError:
            active = self.active_run(job.key)
            if active is None:
                raise
            if delivery_id:
                with self._update_lock, self._tx() as conn, contextlib.suppress(IntegrityError):
                    conn.execute(
                        deliveries_table.insert().values(
                            id=delivery_id, run_id=active.id, received_at=now
                        )
                    )
            return Admission(active, False, "ticket already has an active run")
        run = Run(run_id, job.key, RunStatus.QUEUED, None, now, now, record)
        return Admission(run, True)

    def active_run(self, ticket: str) -> Run | None:
        with self._tx() as conn:
            row = conn.execute(
                sa.select(runs_table).where(
                    runs_table.c.ticket == ticket, runs_table.c.status.in_(ACTIVE)
                )
            ).first()
        return _to_run(row) if row else None

    def get(self, run_id: str) -> Run | None:
        with self._tx() as conn:
            return self._get(conn, run_id)

    @staticmethod
    def _get(conn: sa.Connection, run_id: str) -> Run | None:
        row = conn.execute(sa.select(runs_table).where(runs_table.c.id == run_id)).first()
        return _to_run(row) if row else None

    def list(
        self, *, ticket: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[Run]:
        query = sa.select(runs_table).order_by(runs_table.c.created_at.desc()).limit(limit)
        if ticket:
            query = query.where(runs_table.c.ticket == ticket)
        if status:
            query = query.where(runs_table.c.status == status)
        with self._tx() as conn:
            return [_to_run(row) for row in conn.execute(query)]

    def unfinished(self) -> list[Run]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(runs_table).where(runs_table.c.status.in_(ACTIVE)))
            return [_to_run(row) for row in rows]

    def update(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        stage: str | None = None,
        mutate: Callable[[dict[str, Any]], None] | None = None,
        **fields: Any,
    ) -> Run:
        """Set columns, merge `fields` into the record and apply `mutate` to it, atomically.

        A read-modify-write of the record: the row is locked (Postgres) and updates in this
        process are serialised (SQLite has no row locks), so concurrent writers lose nothing.
        """
        with self._update_lock, self._tx() as conn:
            row = conn.execute(
                sa.select(runs_table).where(runs_table.c.id == run_id).with_for_update()
            ).first()
            if row is None:
                raise KeyError(run_id)
            run = _to_run(row)
            record = {**run.record, **fields}
            if mutate is not None:
                mutate(record)
            if self._secret_values:
                record = redact_data(record, self._secret_values)
            values: dict[str, Any] = {"record": record, "updated_at": utcnow()}
            if status is not None and run.status != RunStatus.CANCELLED:
                values["status"] = status.value
            if stage is not None:
                values["stage"] = stage
            conn.execute(runs_table.update().where(runs_table.c.id == run_id).values(**values))
            return self._get(conn, run_id)  # type: ignore[return-value]

    def cancel(self, run_id: str, **fields: Any) -> tuple[Run | None, bool]:
        """Set an active run `cancelled` and merge `fields`; whether it was active is checked in
        the same transaction, so a run that ends meanwhile keeps its outcome. Returns the run
        (None if there is none) and whether this call cancelled it."""
        with self._update_lock, self._tx() as conn:
            row = conn.execute(
                sa.select(runs_table).where(runs_table.c.id == run_id).with_for_update()
            ).first()
            if row is None or RunStatus(row.status).terminal:
                return (_to_run(row) if row else None), False
            conn.execute(
                runs_table.update()
                .where(runs_table.c.id == run_id)
                .values(
                    status=RunStatus.CANCELLED.value,
                    record={**row.record, **fields},
                    updated_at=utcnow(),
                )
            )
            return self._get(conn, run_id), True

    def ping(self) -> None:
        with self._tx() as conn:
            conn.execute(sa.text("SELECT 1"))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _to_run(row: sa.Row[Any]) -> Run:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
    return Run(
        id=row.id,
        ticket=row.ticket,
        status=RunStatus(row.status),
        stage=row.stage,
        created_at=created,
        updated_at=updated,
        record=dict(row.record),
    )
