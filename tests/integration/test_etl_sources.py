"""The activity extract reads the same workouts and totals from every store the activity
service supports: SQLite, PostgreSQL, and MongoDB (through mongomock: no server here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import mongomock_ng
import pytest

from etl.domain import DayTotals, Loaded, Window
from etl.sources import ActivitySource, MongoActivitySource, SqlActivitySource
from etl.transform import parse_timestamp
from services.activity.__main__ import MIGRATIONS as ACTIVITY_MIGRATIONS
from services.activity.domain import WorkoutSession
from services.activity.mongo_repository import MongoWorkoutRepository
from services.activity.repository import WorkoutRepository
from services.activity.sql_repository import SqlWorkoutRepository
from services.common.db import make_engine, migrate

DAY = date(2026, 5, 4)
MIDNIGHT = datetime(2026, 5, 4, tzinfo=UTC)


class Clock:
    """A clock the test sets."""

    now = MIDNIGHT

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql", "mongomock"])
def store(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[WorkoutRepository, ActivitySource, Clock]]:
    """A repository writing on a controlled clock, and the ETL source reading its store."""
    clock = Clock()
    if request.param == "mongomock":
        db: Any = mongomock_ng.MongoClient(tz_aware=True)["fitness_activity"]
        repo = MongoWorkoutRepository(db, clock)
        repo.ensure_indexes()
        yield repo, MongoActivitySource(db), clock
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = make_engine(url, pool_size=2)
    migrate(engine, ACTIVITY_MIGRATIONS)
    yield SqlWorkoutRepository(engine, clock), SqlActivitySource(engine), clock
    engine.dispose()


def _workout(
    repo: WorkoutRepository, clock: Clock, name: str, start: datetime, ended: datetime | None
) -> None:
    clock.now = start
    repo.add_session(WorkoutSession(name, "u1", "running", start), "")
    if ended:
        clock.now = ended
        repo.complete_session(name, ended, (ended - start).total_seconds(), 100.5, "")


def test_the_extract_reads_the_ended_workouts_changed_in_the_window(
    store: tuple[WorkoutRepository, ActivitySource, Clock],
) -> None:
    repo, source, clock = store
    hour = timedelta(hours=1)
    _workout(repo, clock, "before", MIDNIGHT - 2 * hour, MIDNIGHT - hour)
    _workout(repo, clock, "late", MIDNIGHT + 5 * hour, MIDNIGHT + 6 * hour)
    _workout(repo, clock, "early", MIDNIGHT + hour, MIDNIGHT + 2 * hour)
    _workout(repo, clock, "running", MIDNIGHT + 3 * hour, None)
    _workout(repo, clock, "after", MIDNIGHT + 23 * hour, MIDNIGHT + 25 * hour)
    window = Window(MIDNIGHT, MIDNIGHT + 24 * hour)

    found = list(source.workouts(window))

    found.sort(key=lambda w: w.session_id)
    assert [w.session_id for w in found] == ["early", "late"]
    assert source.count_workouts(window) == 2
    assert parse_timestamp(found[0].end_time) == MIDNIGHT + 2 * hour
    assert parse_timestamp(found[0].updated_at) == MIDNIGHT + 2 * hour
    assert found[0].duration == 3600.0


def test_daily_totals_count_ended_workouts_by_start_day_changed_where_the_warehouse_holds(
    store: tuple[WorkoutRepository, ActivitySource, Clock],
) -> None:
    repo, source, clock = store
    hour = timedelta(hours=1)
    _workout(repo, clock, "a", MIDNIGHT + hour, MIDNIGHT + 2 * hour)
    _workout(repo, clock, "b", MIDNIGHT + 23 * hour, MIDNIGHT + 25 * hour)  # starts on DAY
    _workout(repo, clock, "c", MIDNIGHT + 26 * hour, MIDNIGHT + 27 * hour)
    _workout(repo, clock, "d", MIDNIGHT + 30 * hour, MIDNIGHT + 50 * hour)  # in the window
    _workout(repo, clock, "e", MIDNIGHT + 31 * hour, None)
    _workout(repo, clock, "f", MIDNIGHT + 32 * hour, MIDNIGHT + 40 * hour)  # a gap: not loaded

    loaded = Loaded(MIDNIGHT + 36 * hour, Window(MIDNIGHT + 48 * hour, MIDNIGHT + 52 * hour))
    totals = source.daily_totals(DAY, DAY + timedelta(days=1), loaded)

    assert totals == {
        DAY: DayTotals(2, 3 * 3600.0, 201.0),
        DAY + timedelta(days=1): DayTotals(2, 3600.0 + 20 * 3600.0, 201.0),
    }


def test_the_earliest_change_is_that_of_the_first_ended_workout(
    store: tuple[WorkoutRepository, ActivitySource, Clock],
) -> None:
    repo, source, clock = store
    assert source.earliest_change() is None
    _workout(repo, clock, "open", MIDNIGHT, None)
    _workout(repo, clock, "done", MIDNIGHT + timedelta(hours=2), MIDNIGHT + timedelta(hours=3))

    assert source.earliest_change() == MIDNIGHT + timedelta(hours=3)
