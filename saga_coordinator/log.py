"""The durable saga log: a Protocol and its SQLAlchemy adapter (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from saga_coordinator.domain import SagaEvent, SagaRecord, SagaStatus
from services.common.timeutil import as_utc

UNFINISHED = (SagaStatus.RUNNING.value, SagaStatus.COMPENSATING.value)


class SagaLog(Protocol):
    """Port: where sagas and their history are kept."""

    async def create(self, record: SagaRecord) -> tuple[SagaRecord, bool]:
        """Store a new saga; if its id exists, return the stored one and False."""
        ...

    async def save(self, record: SagaRecord, event: SagaEvent | None) -> None:
        """Write the saga's new state and append the event, atomically."""
        ...

    async def get(self, saga_id: str) -> SagaRecord | None:
        """Return the saga, if any."""
        ...

    async def events(self, saga_id: str) -> list[SagaEvent]:
        """Return the saga's history, oldest first."""
        ...

    async def unfinished(self) -> list[SagaRecord]:
        """Return every saga still RUNNING or COMPENSATING, oldest first."""
        ...

    async def recent(self, status: SagaStatus | None, limit: int) -> list[SagaRecord]:
        """Return up to ``limit`` sagas, most recently updated first."""
        ...


metadata = MetaData()

sagas = Table(
    "sagas",
    metadata,
    Column("saga_id", String(160), primary_key=True),
    Column("saga_type", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("step_index", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("next_retry_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=False),
    Column("failure_code", String(32), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_sagas_status_updated", "status", "updated_at"),
)

saga_events = Table(
    "saga_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("saga_id", String(160), ForeignKey("sagas.saga_id"), nullable=False, index=True),
    Column("step", String(64), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)


class SqlSagaLog:
    """SagaLog on SQLAlchemy Core; blocking calls run on worker threads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def create(self, record: SagaRecord) -> tuple[SagaRecord, bool]:
        """Insert the saga unless its id is taken."""
        return await asyncio.to_thread(self._create, record)

    def _create(self, record: SagaRecord) -> tuple[SagaRecord, bool]:
        try:
            with self._engine.begin() as conn:
                conn.execute(sagas.insert().values(_row(record)))
        except IntegrityError:
            stored = self._get(record.saga_id)
            if stored is None:
                raise
            return stored, False
        return record, True

    async def save(self, record: SagaRecord, event: SagaEvent | None) -> None:
        """Update the saga row and append the event in one transaction."""
        await asyncio.to_thread(self._save, record, event)

    def _save(self, record: SagaRecord, event: SagaEvent | None) -> None:
        row = _row(record)
        with self._engine.begin() as conn:
            conn.execute(update(sagas).where(sagas.c.saga_id == record.saga_id).values(row))
            if event:
                conn.execute(saga_events.insert().values(asdict(event)))

    async def get(self, saga_id: str) -> SagaRecord | None:
        """Return the saga, if any."""
        return await asyncio.to_thread(self._get, saga_id)

    def _get(self, saga_id: str) -> SagaRecord | None:
        rows = self._select(select(sagas).where(sagas.c.saga_id == saga_id))
        return _to_record(rows[0]) if rows else None

    async def events(self, saga_id: str) -> list[SagaEvent]:
        """The saga's history, oldest first."""
        query = (
            select(saga_events)
            .where(saga_events.c.saga_id == saga_id)
            .order_by(saga_events.c.event_id)
        )
        rows = await asyncio.to_thread(self._select, query)
        return [_to_event(row) for row in rows]

    async def unfinished(self) -> list[SagaRecord]:
        """Sagas to resume, oldest first."""
        query = (
            select(sagas)
            .where(sagas.c.status.in_(UNFINISHED))
            .order_by(sagas.c.created_at, sagas.c.saga_id)
        )
        return [_to_record(row) for row in await asyncio.to_thread(self._select, query)]

    async def recent(self, status: SagaStatus | None, limit: int) -> list[SagaRecord]:
        """Most recently updated first, optionally of one status."""
        query = select(sagas).order_by(sagas.c.updated_at.desc(), sagas.c.saga_id).limit(limit)
        if status is not None:
            query = query.where(sagas.c.status == status.value)
        return [_to_record(row) for row in await asyncio.to_thread(self._select, query)]

    def _select(self, query: Any) -> list[RowMapping]:
        with self._engine.connect() as conn:
            return list(conn.execute(query).mappings())


def _row(record: SagaRecord) -> dict[str, Any]:
    return {**asdict(record), "status": record.status.value, "data": json.dumps(record.data)}


def _to_record(row: RowMapping) -> SagaRecord:
    retry = row["next_retry_at"]
    return SagaRecord(
        **{
            **row,
            "status": SagaStatus(row["status"]),
            "data": json.loads(row["data"]),
            "created_at": as_utc(row["created_at"]),
            "updated_at": as_utc(row["updated_at"]),
            "next_retry_at": as_utc(retry) if retry else None,
        }
    )


def _to_event(row: RowMapping) -> SagaEvent:
    fields = {name: row[name] for name in SagaEvent.__dataclass_fields__}
    return SagaEvent(**{**fields, "at": as_utc(row["at"])})
