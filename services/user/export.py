"""The user service's published read model for extraction: users, goals and tombstones.

Other components (the nightly ETL) read the user store only through this module; the
tables stay private to the service, which may change them as long as this keeps answering
the same. Rows are streamed, never loaded whole, and selected by their change time
(``updated_at``, or ``deleted_at`` for tombstones) in a half-open window [since, until).
Rows are named tuples, not dataclasses: an extract builds one per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine, func, or_, select

from services.common.db import stream
from services.common.timeutil import as_utc
from services.user.tables import goal_deletions, goals, user_deletions, users

STREAM_ROWS = 20_000


class UserRecord(NamedTuple):
    """A user as the store has him now (no credentials)."""

    user_id: str
    username: str
    display_name: str
    weight_kg: float | None
    height_cm: float | None
    birth_year: int | None
    created_at: datetime
    updated_at: datetime


class GoalRecord(NamedTuple):
    """A committed goal as the store has it now."""

    goal_id: str
    user_id: str
    goal_type: str
    target_value: float
    target_date: date
    current_progress: float
    status: str
    created_at: datetime
    achieved_at: datetime | None
    updated_at: datetime


class GoalDeletion(NamedTuple):
    """A deleted goal's tombstone."""

    goal_id: str
    user_id: str
    deleted_at: datetime


class SqlUserExport:
    """The read model over the service's SQLAlchemy tables (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def users(self, since: datetime, until: datetime) -> Iterator[UserRecord]:
        """Users created or changed in [since, until); accounts being deleted too."""
        columns = [users.c[name] for name in UserRecord._fields]
        query = select(*columns).where(*_inside(users.c.updated_at, since, until))
        return (UserRecord._make(row) for row in stream(self._engine, query, STREAM_ROWS))

    def goals(self, since: datetime, until: datetime) -> Iterator[GoalRecord]:
        """Committed goals changed in [since, until): a goal pending creation may be undone."""
        columns = [goals.c[name] for name in GoalRecord._fields]
        committed = or_(goals.c.pending_operation.is_(None), goals.c.pending_operation != "create")
        query = select(*columns).where(*_inside(goals.c.updated_at, since, until), committed)
        return (GoalRecord._make(row) for row in stream(self._engine, query, STREAM_ROWS))

    def goal_deletions(self, since: datetime, until: datetime) -> Iterator[GoalDeletion]:
        """Tombstones of the goals deleted in [since, until)."""
        columns = [goal_deletions.c[name] for name in GoalDeletion._fields]
        query = select(*columns).where(*_inside(goal_deletions.c.deleted_at, since, until))
        return (GoalDeletion._make(row) for row in stream(self._engine, query, STREAM_ROWS))

    def erased_users(self) -> list[str]:
        """Every account erased so far (their tombstones: few, and read whole)."""
        query = select(user_deletions.c.user_id).where(user_deletions.c.deleted_at.is_not(None))
        with self._engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def earliest_change(self) -> datetime | None:
        """The oldest updated_at of a user or goal (aware UTC), None when there is none."""
        with self._engine.connect() as conn:
            found = [
                conn.execute(select(func.min(table.c.updated_at))).scalar()
                for table in (users, goals)
            ]
        return min((_moment(value) for value in found if value), default=None)


def _inside(column: Any, since: datetime, until: datetime) -> list[Any]:
    return [column >= since, column < until]


def _moment(value: datetime | str) -> datetime:
    """A stored timestamp as aware UTC; SQLite may hand back ISO text."""
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))
