"""Where the ETL reads from: ports for the user and activity stores, and their adapters.

Rows are streamed, never loaded whole: a night may hold millions of workouts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from pymongo.database import Database
from sqlalchemy import (
    Engine,
    Select,
    String,
    and_,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)

from etl.domain import (
    DayTotals,
    GoalDeletion,
    GoalRecord,
    Loaded,
    UserRecord,
    Window,
    WorkoutRecord,
    start_of_day,
)
from etl.transform import parse_timestamp
from services.activity.sql_repository import sessions
from services.user.tables import goal_deletions, goals, user_deletions, users

STREAM_ROWS = 20_000
Document = dict[str, Any]


class UserSource(Protocol):
    """Port: the user store's changes."""

    def users(self, window: Window) -> Iterator[UserRecord]:
        """Users created or changed in the window."""
        ...

    def goals(self, window: Window) -> Iterator[GoalRecord]:
        """Committed goals created or changed in the window."""
        ...

    def goal_deletions(self, window: Window) -> Iterator[GoalDeletion]:
        """Goals deleted in the window."""
        ...

    def erased_users(self) -> list[str]:
        """Every account erased so far (their tombstones: few, and read whole)."""
        ...

    def earliest_change(self) -> datetime | None:
        """The oldest change time of any row, None when the store is empty."""
        ...


class ActivitySource(Protocol):
    """Port: the activity store's ended workouts."""

    def workouts(self, window: Window) -> Iterator[WorkoutRecord]:
        """Workouts ended (or changed after ending) in the window."""
        ...

    def count_workouts(self, window: Window) -> int:
        """How many rows ``workouts(window)`` will yield."""
        ...

    def daily_totals(self, first: date, last: date, loaded: Loaded) -> dict[date, DayTotals]:
        """Per start day in [first, last]: ended workouts changed when ``loaded`` says."""
        ...

    def earliest_change(self) -> datetime | None:
        """The oldest change time of an ended workout, None when there is none."""
        ...


class SqlUserSource:
    """The user service's SQLAlchemy tables (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def users(self, window: Window) -> Iterator[UserRecord]:
        """Users created or changed in the window."""
        columns = [users.c[name] for name in UserRecord._fields]
        query = select(*columns).where(*_inside(users.c.updated_at, window))
        return (UserRecord._make(row) for row in _stream(self._engine, query))

    def goals(self, window: Window) -> Iterator[GoalRecord]:
        """Committed goals: a goal still pending creation may yet be undone by its saga."""
        columns = [goals.c[name] for name in GoalRecord._fields]
        committed = or_(goals.c.pending_operation.is_(None), goals.c.pending_operation != "create")
        query = select(*columns).where(*_inside(goals.c.updated_at, window), committed)
        return (GoalRecord._make(row) for row in _stream(self._engine, query))

    def goal_deletions(self, window: Window) -> Iterator[GoalDeletion]:
        """Goals deleted in the window."""
        columns = [goal_deletions.c[name] for name in GoalDeletion._fields]
        query = select(*columns).where(*_inside(goal_deletions.c.deleted_at, window))
        return (GoalDeletion._make(row) for row in _stream(self._engine, query))

    def erased_users(self) -> list[str]:
        """Every account erased so far (their tombstones: few, and read whole)."""
        query = select(user_deletions.c.user_id).where(user_deletions.c.deleted_at.is_not(None))
        with self._engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def earliest_change(self) -> datetime | None:
        """The oldest updated_at of a user or goal."""
        with self._engine.connect() as conn:
            found = [
                conn.execute(select(func.min(table.c.updated_at))).scalar()
                for table in (users, goals)
            ]
        return min((parse_timestamp(value) for value in found if value), default=None)


class SqlActivitySource:
    """The activity service's workout_sessions table (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def workouts(self, window: Window) -> Iterator[WorkoutRecord]:
        """Ended workouts changed in the window.

        SQLite keeps times as UTC text; they are read as that text, not parsed: parsing
        three timestamps per row was most of the extract's cost, and COPY reads text.
        """
        as_text = self._engine.dialect.name == "sqlite"
        columns = [
            type_coerce(sessions.c[name], String)
            if as_text and name in _TIMES
            else sessions.c[name]
            for name in _WORKOUT_COLUMNS
        ]
        query = select(*columns).where(*self._ended_in(window))
        return (WorkoutRecord._make(row) for row in _stream(self._engine, query))

    def count_workouts(self, window: Window) -> int:
        """How many ended workouts changed in the window."""
        with self._engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).where(*self._ended_in(window))).scalar_one()
            )

    @staticmethod
    def _ended_in(window: Window) -> list[Any]:
        return [*_inside(sessions.c.updated_at, window), sessions.c.end_time.is_not(None)]

    def daily_totals(self, first: date, last: date, loaded: Loaded) -> dict[date, DayTotals]:
        """One GROUP BY over the days' ended workouts."""
        changed = _without_index(self._engine, sessions.c.updated_at)
        in_window = and_(*_inside(changed, loaded.window))
        wanted = or_(changed < loaded.watermark, in_window) if loaded.watermark else in_window
        day = _utc_day(self._engine, sessions.c.start_time)
        query = (
            select(
                day,
                func.count(),
                func.coalesce(func.sum(sessions.c.duration), 0.0),
                func.coalesce(func.sum(sessions.c.calories_burned), 0.0),
            )
            .where(
                sessions.c.end_time.is_not(None),
                wanted,
                sessions.c.start_time >= start_of_day(first),
                sessions.c.start_time < start_of_day(last + timedelta(days=1)),
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
        return parse_timestamp(value) if value else None


_TIMES = ("start_time", "end_time", "updated_at")
_WORKOUT_COLUMNS = (
    "session_id",
    "user_id",
    "workout_type",
    "start_time",
    "end_time",
    "duration",
    "calories_burned",
    "updated_at",
)


class MongoActivitySource:
    """The activity service's workout_sessions collection (MongoDB, production)."""

    def __init__(self, db: Database[Document]) -> None:
        self._sessions = db["workout_sessions"]

    def workouts(self, window: Window) -> Iterator[WorkoutRecord]:
        """Ended workouts changed in the window, in change order (uses the updated_at index)."""
        cursor = self._sessions.find(self._ended_in(window), batch_size=STREAM_ROWS)
        for doc in cursor.sort("updated_at", 1):
            yield WorkoutRecord(doc["_id"], *(doc[name] for name in _WORKOUT_COLUMNS[1:]))

    def count_workouts(self, window: Window) -> int:
        """How many ended workouts changed in the window."""
        return self._sessions.count_documents(self._ended_in(window))

    @staticmethod
    def _ended_in(window: Window) -> Document:
        return {
            "updated_at": {"$gte": window.since, "$lt": window.until},
            "end_time": {"$ne": None},
        }

    def daily_totals(self, first: date, last: date, loaded: Loaded) -> dict[date, DayTotals]:
        """One $group over the days' ended workouts."""
        window = loaded.window
        changed: list[Document] = [{"updated_at": {"$gte": window.since, "$lt": window.until}}]
        if loaded.watermark:
            changed.append({"updated_at": {"$lt": loaded.watermark}})
        match = {
            "end_time": {"$ne": None},
            "$or": changed,
            "start_time": {
                "$gte": start_of_day(first),
                "$lt": start_of_day(last + timedelta(days=1)),
            },
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
        return parse_timestamp(first["updated_at"]) if first else None


def _inside(column: Any, window: Window) -> list[Any]:
    return [column >= window.since, column < window.until]


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


def _stream(engine: Engine, query: Select[Any]) -> Iterator[Any]:
    """Rows of a query, fetched in chunks on one connection held while iterating."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(query)
        yield from result
