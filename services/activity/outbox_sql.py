"""ProgressOutbox on SQLAlchemy Core, over the table sql_repository.py writes with each end.

Claims are leases: an UPDATE sets ``lease_owner``/``lease_until`` on the oldest due rows
that nobody holds, re-checking that in its WHERE, so two relays never both take a row.
On SQLite it is one statement (one writer at a time). On PostgreSQL the candidates are
first selected FOR UPDATE SKIP LOCKED in the same transaction, so concurrent relays take
different rows instead of queueing behind each other's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, or_, select, update
from sqlalchemy.engine import RowMapping

from services.activity.domain import ProgressEvent
from services.activity.tables import progress_outbox
from services.common.timeutil import as_utc

MAX_ERROR_LENGTH = 512


class SqlProgressOutbox:
    """The progress events of ended sessions, leased to one relay at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim_progress(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[ProgressEvent]:
        """Lease the oldest due, unleased events to ``owner``."""
        candidates = (
            select(progress_outbox.c.event_id)
            .where(_claimable(now))
            .order_by(progress_outbox.c.due_at, progress_outbox.c.event_id)
            .limit(limit)
        )
        with self._engine.begin() as conn:
            if self._engine.dialect.name == "postgresql":
                # Locked until commit, so selecting first is safe; as a subquery of the
                # UPDATE, PostgreSQL may rescan it and take more than ``limit`` rows.
                locked = candidates.with_for_update(skip_locked=True)
                chosen: Any = list(conn.execute(locked).scalars())
            else:
                chosen = candidates.scalar_subquery()  # one statement: SQLite's one writer
            claim = (
                update(progress_outbox)
                .where(progress_outbox.c.event_id.in_(chosen), _claimable(now))
                .values(lease_owner=owner, lease_until=now + lease)
                .returning(*progress_outbox.c)
            )
            rows = conn.execute(claim).mappings().all()
        ordered = sorted(rows, key=lambda row: (as_utc(row["due_at"]), row["event_id"]))
        return [_to_event(row) for row in ordered]

    def progress_delivered(self, event_id: str, now: datetime) -> None:
        """Mark the event delivered and drop its lease."""
        with self._engine.begin() as conn:
            conn.execute(
                update(progress_outbox)
                .where(
                    progress_outbox.c.event_id == event_id,
                    progress_outbox.c.delivered_at.is_(None),
                )
                .values(delivered_at=now, lease_owner=None, lease_until=None, last_error=None)
            )

    def retry_progress(self, event_id: str, owner: str, due: datetime, error: str) -> None:
        """Count a failed attempt and release the lease, if ``owner`` still holds it."""
        with self._engine.begin() as conn:
            conn.execute(
                update(progress_outbox)
                .where(
                    progress_outbox.c.event_id == event_id,
                    progress_outbox.c.lease_owner == owner,
                    progress_outbox.c.delivered_at.is_(None),
                )
                .values(
                    attempts=progress_outbox.c.attempts + 1,
                    due_at=due,
                    lease_owner=None,
                    lease_until=None,
                    last_error=error[:MAX_ERROR_LENGTH],
                )
            )

    def pending_progress(self) -> list[ProgressEvent]:
        """Every undelivered event, oldest first."""
        query = (
            select(progress_outbox)
            .where(progress_outbox.c.delivered_at.is_(None))
            .order_by(progress_outbox.c.created_at, progress_outbox.c.event_id)
        )
        with self._engine.connect() as conn:
            return [_to_event(row) for row in conn.execute(query).mappings()]

    def prune_delivered(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` of the oldest events delivered before ``before``."""
        delivered = progress_outbox.c.delivered_at
        oldest = (  # ix_progress_outbox_due leads with delivered_at: a range scan
            select(progress_outbox.c.event_id)
            .where(delivered.is_not(None), delivered < before)
            .order_by(delivered, progress_outbox.c.event_id)
            .limit(limit)
        )
        with self._engine.begin() as conn:
            pruned = conn.execute(
                delete(progress_outbox).where(
                    progress_outbox.c.event_id.in_(oldest.scalar_subquery())
                )
            )
        return int(pruned.rowcount)


def _claimable(now: datetime) -> Any:
    return and_(
        progress_outbox.c.delivered_at.is_(None),
        progress_outbox.c.due_at <= now,
        or_(progress_outbox.c.lease_until.is_(None), progress_outbox.c.lease_until < now),
    )


def _to_event(row: RowMapping) -> ProgressEvent:
    return ProgressEvent(
        event_id=row["event_id"],
        user_id=row["user_id"],
        session_id=row["session_id"],
        end_time=as_utc(row["end_time"]),
        duration=row["duration"],
        calories_burned=row["calories_burned"],
        attempts=row["attempts"],
        trace_id=row["trace_id"] or "",
    )
