"""Where the ETL reads from: ports for the user and activity stores, and their adapters.

The adapters read only the read models the services publish for extraction
(``services.user.export``, ``services.activity.export``), never their tables or
collections. Rows are streamed, never loaded whole: a night may hold millions of workouts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from pymongo.database import Database
from sqlalchemy import Engine

from etl.domain import (
    DayFingerprint,
    DayTotals,
    GoalDeletion,
    GoalRecord,
    HealthDayRecord,
    Loaded,
    UserRecord,
    Window,
    WorkoutRecord,
)
from services.activity.export import MongoWorkoutExport, SqlWorkoutExport, WorkoutExport
from services.health_metrics.export import HealthExport
from services.user.export import SqlUserExport

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


class HealthSource(Protocol):
    """Port: the health store's daily summaries, found changed by their fingerprints."""

    def fingerprints(self, before: datetime) -> Iterator[DayFingerprint]:
        """Every user-day starting before ``before``, with the digest of its data."""
        ...

    def days(self, keys: Sequence[tuple[str, date]]) -> list[HealthDayRecord]:
        """The facts of these user-days (those that have data), from one snapshot."""
        ...

    def ready(self) -> bool:
        """Whether the store answers with its tables in place."""
        ...


class SqlUserSource:
    """The user service's SQL read model (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._export = SqlUserExport(engine)

    def users(self, window: Window) -> Iterator[UserRecord]:
        """Users created or changed in the window."""
        return self._export.users(window.since, window.until)

    def goals(self, window: Window) -> Iterator[GoalRecord]:
        """Committed goals: a goal still pending creation may yet be undone by its saga."""
        return self._export.goals(window.since, window.until)

    def goal_deletions(self, window: Window) -> Iterator[GoalDeletion]:
        """Goals deleted in the window."""
        return self._export.goal_deletions(window.since, window.until)

    def erased_users(self) -> list[str]:
        """Every account erased so far (their tombstones: few, and read whole)."""
        return self._export.erased_users()

    def earliest_change(self) -> datetime | None:
        """The oldest updated_at of a user or goal."""
        return self._export.earliest_change()


class ExportedActivitySource:
    """The activity service's read model, whichever store it is over."""

    def __init__(self, export: WorkoutExport) -> None:
        self._export = export

    def workouts(self, window: Window) -> Iterator[WorkoutRecord]:
        """Ended workouts changed in the window."""
        return self._export.workouts(window.since, window.until)

    def count_workouts(self, window: Window) -> int:
        """How many ended workouts changed in the window."""
        return self._export.count_workouts(window.since, window.until)

    def daily_totals(self, first: date, last: date, loaded: Loaded) -> dict[date, DayTotals]:
        """Totals of the days' ended workouts changed before the watermark or in the window."""
        window = loaded.window
        return self._export.daily_totals(first, last, window.since, window.until, loaded.watermark)

    def earliest_change(self) -> datetime | None:
        """The oldest updated_at of an ended workout."""
        return self._export.earliest_change()


class SqlActivitySource(ExportedActivitySource):
    """The activity service's SQL read model (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(SqlWorkoutExport(engine))


class MongoActivitySource(ExportedActivitySource):
    """The activity service's MongoDB read model (production)."""

    def __init__(self, db: Database[Document]) -> None:
        super().__init__(MongoWorkoutExport(db))


class SqlHealthSource:
    """The health service's read model (its PostgreSQL database)."""

    def __init__(self, engine: Engine) -> None:
        self._export = HealthExport(engine)

    def fingerprints(self, before: datetime) -> Iterator[DayFingerprint]:
        """Every user-day starting before ``before``, streamed in (user, day) order."""
        return self._export.fingerprints(before)

    def days(self, keys: Sequence[tuple[str, date]]) -> list[HealthDayRecord]:
        """The facts of these user-days, read in one repeatable-read transaction."""
        return self._export.days(keys)

    def ready(self) -> bool:
        """Whether the health database answers with the service's tables in place."""
        return self._export.ready()
