"""The activity service's published read model for extraction: ended workouts and day totals.

Other components (the nightly ETL) read the activity store only through this module, on
SQL (SQLite, PostgreSQL) or MongoDB like the service itself; the table and the collection
stay private to the service. Rows are streamed, never loaded whole (a night may hold
millions of workouts), and selected by their change time ``updated_at`` in a half-open
window [since, until). Rows are named tuples, not dataclasses: an extract builds one per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, Protocol

from pymongo.database import Database
from sqlalchemy import Engine, String, and_, func, literal_column, or_, select, type_coerce

from services.activity.mongo_repository import connect
from services.activity.tables import sessions
from services.common.db import stream
from services.common.timeutil import as_utc

STREAM_ROWS = 20_000
Document = dict[str, Any]


class WorkoutRecord(NamedTuple):
    """An ended workout session as the store has it.

    Times are datetimes, or UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]' where the store keeps
    them so (SQLite): parsing three timestamps per row would be most of an extract's cost.
    """

    session_id: str
    user_id: str
    workout_type: str
    start_time: datetime | str
    end_time: datetime | str
    duration: float
    calories_burned: float
    updated_at: datetime | str


class DayTotals(NamedTuple):
    """Workouts started on one UTC day: how many, and their summed seconds and kcal."""

    workouts: int
    duration: float
    calories: float


class WorkoutExport(Protocol):
    """Port: the ended workouts of the activity store, whatever the store."""

    def workouts(self, since: datetime, until: datetime) -> Iterator[WorkoutRecord]:
        """Workouts ended, and changed (their end is a change) in [since, until)."""
        ...

    def count_workouts(self, since: datetime, until: datetime) -> int:
        """How many rows ``workouts(since, until)`` will yield."""
        ...

    def daily_totals(
        self, first: date, last: date, since: datetime, until: datetime, before: datetime | None
    ) -> dict[date, DayTotals]:
        """Per start day in [first, last]: the ended workouts changed in [since, until),
        or before ``before`` when it is set; days without any are left out."""
        ...

    def earliest_change(self) -> datetime | None:
        """The oldest updated_at of an ended workout (aware UTC), None when there is none."""
        ...


class SqlWorkoutExport:
    """The read model over the service's workout_sessions table (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def workouts(self, since: datetime, until: datetime) -> Iterator[WorkoutRecord]:
        """Ended workouts changed in the window; on SQLite times stay the stored UTC text."""
        as_text = self._engine.dialect.name == "sqlite"
        columns = [
            type_coerce(sessions.c[name], String)
            if as_text and name in _TIMES
            else sessions.c[name]
            for name in WorkoutRecord._fields
        ]
        query = select(*columns).where(*_ended_in(since, until))
        return (WorkoutRecord._make(row) for row in stream(self._engine, query, STREAM_ROWS))

    def count_workouts(self, since: datetime, until: datetime) -> int:
        """How many ended workouts changed in the window."""
        query = select(func.count()).where(*_ended_in(since, until))
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def daily_totals(
        self, first: date, last: date, since: datetime, until: datetime, before: datetime | None
    ) -> dict[date, DayTotals]:
        """One GROUP BY over the days' ended workouts."""
        changed = _without_index(self._engine, sessions.c.updated_at)
        in_window = and_(changed >= since, changed < until)
        wanted = or_(changed < before, in_window) if before else in_window
        day = _utc_day(self._engine, sessions.c.start_time)
        totals = (
            func.count(),
            func.coalesce(func.sum(sessions.c.duration), 0.0),
            func.coalesce(func.sum(sessions.c.calories_burned), 0.0),
        )
        query = (
            select(day, *totals)
            .where(
                sessions.c.end_time.is_not(None),
                wanted,
                sessions.c.start_time >= _midnight(first),
                sessions.c.start_time < _midnight(last + timedelta(days=1)),
            )
            .group_by(day)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return {
            date.fromisoformat(row[0]): DayTotals(int(row[1]), float(row[2]), float(row[3]))
            for row in rows
        }

    def earliest_change(self) -> datetime | None:
        """The oldest updated_at of an ended workout."""
        query = select(func.min(sessions.c.updated_at)).where(sessions.c.end_time.is_not(None))
        with self._engine.connect() as conn:
            value = conn.execute(query).scalar()
        return _moment(value) if value else None


class MongoWorkoutExport:
    """The read model over the service's workout_sessions collection (MongoDB)."""

    def __init__(self, db: Database[Document]) -> None:
        self._sessions = db["workout_sessions"]

    def workouts(self, since: datetime, until: datetime) -> Iterator[WorkoutRecord]:
        """Ended workouts changed in the window, in change order (uses the updated_at index)."""
        cursor = self._sessions.find(_ended_between(since, until), batch_size=STREAM_ROWS)
        for doc in cursor.sort("updated_at", 1):
            yield WorkoutRecord(doc["_id"], *(doc[name] for name in WorkoutRecord._fields[1:]))

    def count_workouts(self, since: datetime, until: datetime) -> int:
        """How many ended workouts changed in the window."""
        return self._sessions.count_documents(_ended_between(since, until))

    def daily_totals(
        self, first: date, last: date, since: datetime, until: datetime, before: datetime | None
    ) -> dict[date, DayTotals]:
        """One $group over the days' ended workouts."""
        changed: list[Document] = [{"updated_at": {"$gte": since, "$lt": until}}]
        if before:
            changed.append({"updated_at": {"$lt": before}})
        match = {
            "end_time": {"$ne": None},
            "$or": changed,
            "start_time": {"$gte": _midnight(first), "$lt": _midnight(last + timedelta(days=1))},
        }
        group = {
            "_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$start_time"}},
            "workouts": {"$sum": 1},
            "duration": {"$sum": "$duration"},
            "calories": {"$sum": "$calories_burned"},
        }
        rows = self._sessions.aggregate([{"$match": match}, {"$group": group}])
        return {
            date.fromisoformat(row["_id"]): DayTotals(
                int(row["workouts"]), float(row["duration"]), float(row["calories"])
            )
            for row in rows
        }

    def earliest_change(self) -> datetime | None:
        """The oldest updated_at of an ended workout."""
        first = self._sessions.find_one(
            {"end_time": {"$ne": None}}, sort=[("updated_at", 1)], projection=["updated_at"]
        )
        return _moment(first["updated_at"]) if first else None


# The nightly export reads in big batches: a request's 3 s bound would cut a large
# aggregation short, while a hung server must still end the run (the ETL retries it).
EXPORT_TIMEOUT_MS = 10 * 60 * 1000


def connect_mongo(url: str, database: str) -> MongoWorkoutExport:
    """The read model over a MongoDB store, read with majority read concern."""
    return MongoWorkoutExport(connect(url, database, timeout_ms=EXPORT_TIMEOUT_MS))


_TIMES = ("start_time", "end_time", "updated_at")


def _ended_in(since: datetime, until: datetime) -> list[Any]:
    changed = sessions.c.updated_at
    return [changed >= since, changed < until, sessions.c.end_time.is_not(None)]


def _ended_between(since: datetime, until: datetime) -> Document:
    return {"updated_at": {"$gte": since, "$lt": until}, "end_time": {"$ne": None}}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _moment(value: datetime | str) -> datetime:
    """A stored timestamp as aware UTC; SQLite may hand back ISO text."""
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))


def _utc_day(engine: Engine, column: Any) -> Any:
    """The UTC calendar day of a timestamp column as 'YYYY-MM-DD' text, per dialect."""
    if engine.dialect.name == "sqlite":
        return func.substr(column, 1, 10)  # stored as 'YYYY-MM-DD HH:MM:SS' in UTC
    return func.to_char(literal_column(f"{column.name} AT TIME ZONE 'UTC'"), "YYYY-MM-DD")


def _without_index(engine: Engine, column: Any) -> Any:
    """The column, telling SQLite not to use its index: a bound that keeps nearly every row
    is read faster by scanning the table than through the index (SQLite's unary +)."""
    if engine.dialect.name == "sqlite":
        return literal_column(f"+{column.table.name}.{column.name}", column.type)
    return column
