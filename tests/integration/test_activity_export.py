"""The activity service's read model for extraction answers the same on every store the
service supports: SQLite, PostgreSQL, and MongoDB (through mongomock: no server here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import mongomock_ng
import pytest
from pymongo.database import Database

from services.activity.__main__ import MIGRATIONS
from services.activity.domain import WorkoutSession
from services.activity.export import (
    DayTotals,
    MongoWorkoutExport,
    SqlWorkoutExport,
    WorkoutExport,
    WorkoutRecord,
)
from services.activity.mongo_repository import MongoWorkoutRepository
from services.activity.repository import WorkoutRepository
from services.activity.sql_repository import SqlWorkoutRepository
from services.common.db import make_engine, migrate
from services.common.timeutil import as_utc

DAY = date(2026, 5, 4)
MIDNIGHT = datetime(2026, 5, 4, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Clock:
    """A clock the test sets."""

    now = MIDNIGHT

    def __call__(self) -> datetime:
        return self.now


Store = tuple[WorkoutRepository, WorkoutExport, Clock]


@pytest.fixture(params=["sqlite", "postgresql", "mongomock"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """The service's repository writing on a controlled clock, and the export over its store."""
    clock = Clock()
    if request.param == "mongomock":
        db: Database[dict[str, Any]] = mongomock_ng.MongoClient(tz_aware=True)["fitness_activity"]
        repo = MongoWorkoutRepository(db, clock)
        repo.ensure_indexes()
        yield repo, MongoWorkoutExport(db), clock
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = make_engine(url, pool_size=2)
    migrate(engine, MIGRATIONS)
    yield SqlWorkoutRepository(engine, clock), SqlWorkoutExport(engine), clock
    engine.dispose()


def _workout(store: Store, name: str, start: datetime, ended: datetime | None) -> None:
    repo, _, clock = store
    clock.now = start
    repo.add_session(WorkoutSession(name, "u1", "cycling", start), "")
    if ended:
        clock.now = ended
        repo.complete_session(name, ended, (ended - start).total_seconds(), 42.5, "")


def _moment(value: datetime | str) -> datetime:
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))


def test_an_exported_workout_carries_the_session_as_stored_with_times_that_read_as_utc(
    store: Store,
) -> None:
    _workout(store, "ride", MIDNIGHT + HOUR, MIDNIGHT + 2 * HOUR + timedelta(seconds=5))

    [ride] = store[1].workouts(MIDNIGHT, MIDNIGHT + 24 * HOUR)

    assert isinstance(ride, WorkoutRecord)
    assert ride[:3] == ("ride", "u1", "cycling")
    assert (ride.duration, ride.calories_burned) == (3605.0, 42.5)
    end = MIDNIGHT + 2 * HOUR + timedelta(seconds=5)
    times = [_moment(ride.start_time), _moment(ride.end_time), _moment(ride.updated_at)]
    assert times == [MIDNIGHT + HOUR, end, end]


def test_running_workouts_and_changes_outside_the_window_are_neither_exported_nor_counted(
    store: Store,
) -> None:
    _workout(store, "yesterday", MIDNIGHT - 3 * HOUR, MIDNIGHT - HOUR)
    _workout(store, "today", MIDNIGHT + HOUR, MIDNIGHT + 2 * HOUR)
    _workout(store, "running", MIDNIGHT + 3 * HOUR, None)
    _workout(store, "at-the-end", MIDNIGHT + 20 * HOUR, MIDNIGHT + 24 * HOUR)
    export = store[1]

    names = [workout.session_id for workout in export.workouts(MIDNIGHT, MIDNIGHT + 24 * HOUR)]

    assert names == ["today"]
    assert export.count_workouts(MIDNIGHT, MIDNIGHT + 24 * HOUR) == 1
    assert export.count_workouts(MIDNIGHT - 24 * HOUR, MIDNIGHT + 48 * HOUR) == 3


def test_daily_totals_without_a_watermark_count_only_the_windows_changes_by_start_day(
    store: Store,
) -> None:
    _workout(store, "old", MIDNIGHT + HOUR, MIDNIGHT + 2 * HOUR)
    _workout(store, "new", MIDNIGHT + 3 * HOUR, MIDNIGHT + 30 * HOUR)
    _workout(store, "next-day", MIDNIGHT + 26 * HOUR, MIDNIGHT + 27 * HOUR)
    export = store[1]
    since, until = MIDNIGHT + 24 * HOUR, MIDNIGHT + 48 * HOUR

    totals = export.daily_totals(DAY, DAY + timedelta(days=1), since, until, None)
    with_older = export.daily_totals(DAY, DAY, since, until, MIDNIGHT + 24 * HOUR)

    assert totals == {
        DAY: DayTotals(1, 27 * 3600.0, 42.5),
        DAY + timedelta(days=1): DayTotals(1, 3600.0, 42.5),
    }
    assert with_older == {DAY: DayTotals(2, 28 * 3600.0, 85.0)}


def test_the_earliest_change_ignores_running_workouts_and_is_none_when_none_ended(
    store: Store,
) -> None:
    export = store[1]
    _workout(store, "running", MIDNIGHT, None)
    assert export.earliest_change() is None

    _workout(store, "done", MIDNIGHT + HOUR, MIDNIGHT + 2 * HOUR)

    assert export.earliest_change() == MIDNIGHT + 2 * HOUR
