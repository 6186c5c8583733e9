"""The nightly ETL's daily health facts on the real PostgreSQL: a health database written
through the health store and refreshed, a warehouse loaded from it by the pipeline."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from deploy import embedded_postgres
from etl import reports
from etl.__main__ import describe
from etl.health import SKIPPED
from etl.pipeline import nightly_interval, run_etl
from etl.sources import SqlHealthSource
from etl.transform import date_key
from services.common.db import make_engine
from services.health_metrics.domain import (
    DailySummary,
    Metric,
    Point,
    SleepSession,
    SleepStage,
    StageSpan,
)
from services.health_metrics.postgres import PostgresHealthStore, open_store
from services.health_metrics.service import HealthDeps, daily_summary
from tests.integration.etl_world import EtlWorld, at
from tests.integration.health_harness import refresh_all

D1, D2, D3, D4, D5 = (date(2026, 3, day) for day in (2, 3, 4, 5, 6))
FACTS = """SELECT user_id, date_key, resting_heart_rate, steps, active_zone_minutes, spo2_mean,
    hrv_mean, breathing_rate_mean, deep_minutes, light_minutes, rem_minutes, wake_minutes
FROM fact_health_daily ORDER BY user_id, date_key"""


@pytest.fixture
def health(postgres_url: str) -> Iterator[PostgresHealthStore]:
    """An empty health database with the service's schema."""
    store = open_store(postgres_url, pool_size=2)
    yield store
    store.close()


@pytest.fixture
def world(
    sqlite_url: str, tmp_path_factory: pytest.TempPathFactory, postgres_server: str
) -> EtlWorld:
    """Empty user and activity stores and an empty, migrated warehouse."""
    activity = tmp_path_factory.mktemp("activity") / "activity.db"
    warehouse = embedded_postgres.create_database(postgres_server, f"wh_{uuid.uuid4().hex[:12]}")
    return EtlWorld(sqlite_url, f"sqlite:///{activity}", warehouse)


@pytest.fixture
def source(health: PostgresHealthStore) -> SqlHealthSource:
    """The ETL's health source over the health database."""
    return SqlHealthSource(make_engine(str(health.engine.url), pool_size=2))


def heart_rate(store: PostgresHealthStore, user: str, start: datetime, minutes: int) -> None:
    """One reading a second for ``minutes`` minutes, around 60-90 bpm."""
    rng = random.Random(f"{user}{start}")
    points = [
        Point(start + timedelta(seconds=s), 60 + 30 * rng.random()) for s in range(minutes * 60)
    ]
    store.write_points(user, Metric.HEART_RATE, points)


def per_minute(
    store: PostgresHealthStore, user: str, metric: Metric, start: datetime, values: list[float]
) -> None:
    """One point a minute from ``start``."""
    points = [Point(start + timedelta(minutes=m), v) for m, v in enumerate(values)]
    store.write_points(user, metric, points)


def night(start: datetime) -> SleepSession:
    """A 7-hour sleep from ``start``: light, deep, REM, a waking, light."""
    spans, moment = [], start
    for stage, minutes in (
        (SleepStage.LIGHT, 90),
        (SleepStage.DEEP, 75),
        (SleepStage.REM, 100),
        (SleepStage.WAKE, 5),
        (SleepStage.LIGHT, 150),
    ):
        spans.append(StageSpan(stage, moment, moment + timedelta(minutes=minutes)))
        moment += timedelta(minutes=minutes)
    return SleepSession(start, moment, tuple(spans))


def a_full_day(store: PostgresHealthStore, user: str, day: date) -> None:
    """Every metric on ``day``, and a night ending on it."""
    heart_rate(store, user, at(day, 9), 45)
    per_minute(store, user, Metric.STEPS, at(day, 10), [80.0, 95.0, 120.0, 0.0, 33.0])
    per_minute(store, user, Metric.ACTIVE_ZONE_MINUTES, at(day, 10), [1.0, 2.0, 2.0])
    per_minute(store, user, Metric.SPO2, at(day, 3), [95.5, 97.0, 96.25])
    per_minute(store, user, Metric.HRV, at(day, 3), [40.0, 52.5])
    per_minute(store, user, Metric.BREATHING_RATE, at(day, 3), [14.0, 15.5, 13.0])
    store.write_sleep(user, [night(at(day, 0) - timedelta(hours=1))])


@pytest.fixture
def people(world: EtlWorld, health: PostgresHealthStore) -> dict[str, str]:
    """Ann with health data on D1 and D2, Bob on D2 only (steps and a short heart rate)."""
    ann = world.register("ann", 60.0, at(D1, 8))
    bob = world.register("bob", 80.0, at(D1, 9))
    a_full_day(health, ann, D1)
    a_full_day(health, ann, D2)
    heart_rate(health, bob, at(D2, 12), 20)  # under 30 minutes: no resting heart rate
    per_minute(health, bob, Metric.STEPS, at(D2, 18), [10.0, 20.0])
    refresh_all(health)
    return {"ann": ann, "bob": bob}


def expected(health: PostgresHealthStore, user: str, day: date) -> tuple[Any, ...]:
    """The fact row the API's daily summary of the user-day amounts to."""
    summary: DailySummary = daily_summary(HealthDeps(health), user, day)
    sleep = summary.sleep_minutes
    return (
        user,
        date_key(day),
        summary.resting_heart_rate,
        summary.steps,
        summary.active_zone_minutes,
        summary.spo2_mean,
        summary.hrv_mean,
        summary.breathing_rate_mean,
        *(sleep[stage] for stage in SleepStage),
    )


def same(found: list[tuple[Any, ...]], wanted: list[tuple[Any, ...]]) -> bool:
    """Equal rows, floats to a relative 1e-9 (sums of floats in another order)."""
    return len(found) == len(wanted) and all(
        len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
        for a, b in zip(found, wanted, strict=True)
    )


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    return bool(a == b)


def summaries(health: PostgresHealthStore, *user_days: tuple[str, date]) -> list[tuple[Any, ...]]:
    """The expected fact rows of the user-days, in the fact query's order."""
    return sorted(expected(health, user, day) for user, day in user_days)


def test_the_facts_of_each_user_day_equal_the_daily_summary_of_the_health_rollups(
    world: EtlWorld, health: PostgresHealthStore, source: SqlHealthSource, people: dict[str, str]
) -> None:
    ann, bob = people["ann"], people["bob"]

    report = world.nightly(at(D4, 2), health=source)

    assert report is not None
    assert report.notes == ()
    assert report.counts.read["health"] == 3
    assert report.counts.written["health"] == 3
    found = world.rows(FACTS)
    assert same(found, summaries(health, (ann, D1), (ann, D2), (bob, D2)))
    ann_d1 = next(row for row in found if row[:2] == (ann, date_key(D1)))
    assert 60 <= ann_d1[2] <= 90  # a resting heart rate
    assert (ann_d1[3], ann_d1[4]) == (328.0, 5.0)  # step and zone-minute sums
    assert (ann_d1[8], ann_d1[9], ann_d1[10], ann_d1[11]) == (75.0, 240.0, 100.0, 5.0)
    bob_d2 = next(row for row in found if row[0] == bob)
    assert (bob_d2[2], bob_d2[3], bob_d2[5]) == (None, 30.0, None)


def test_health_facts_join_the_date_dimension_and_the_user_version_valid_on_their_day(
    world: EtlWorld, health: PostgresHealthStore, source: SqlHealthSource, people: dict[str, str]
) -> None:
    world.nightly(at(D2, 2), health=source)
    world.change_weight(people["ann"], 58.0, at(D2, 6))  # a second version from D2 06:00
    a_full_day(health, people["ann"], D3)
    refresh_all(health)

    world.nightly(at(D4, 2), health=source)

    joined = world.rows(
        "SELECT d.date, u.weight_kg FROM fact_health_daily h"
        " JOIN dim_date d USING (date_key) JOIN dim_user u USING (user_key)"
        " WHERE h.user_id = %s ORDER BY d.date",
        people["ann"],
    )
    assert joined == [(D1, 60.0), (D2, 60.0), (D3, 58.0)]  # D2 began before the change
    assert world.scalar("SELECT count(*) FROM fact_health_daily WHERE user_key IS NULL") == 0


def test_a_run_that_finds_nothing_changed_writes_no_health_facts_even_as_a_backfill(
    world: EtlWorld, source: SqlHealthSource, people: dict[str, str]
) -> None:
    world.nightly(at(D4, 2), health=source)
    before = world.rows(FACTS)

    again = world.load(D1, D3, health=source)

    assert again.counts.read["health"] == 3  # a backfill derives its days again
    assert again.counts.written["health"] == 0
    assert world.rows(FACTS) == before


def test_a_late_correction_and_a_deleted_day_are_loaded_by_the_next_nightly_run(
    world: EtlWorld, health: PostgresHealthStore, source: SqlHealthSource, people: dict[str, str]
) -> None:
    ann, bob = people["ann"], people["bob"]
    world.nightly(at(D4, 2), health=source)
    # Days later: Ann's D1 steps are corrected, her D1 heart rate lowered; Bob's D2 is deleted.
    per_minute(health, ann, Metric.STEPS, at(D1, 10), [81.0, 95.0, 120.0, 0.0, 33.0])
    heart_rate(health, ann, at(D1, 20), 40)  # more minutes: maybe a new resting rate
    for metric in (Metric.HEART_RATE, Metric.STEPS):
        health.delete_points(bob, metric, at(D2, 0), at(D3, 0))
    refresh_all(health)

    report = world.nightly(at(D5, 2), health=source)

    assert report is not None
    assert report.counts.read["health"] == 1  # only the changed user-day is read again
    assert report.counts.written["health"] == 2  # Ann's D1 rewritten, Bob's D2 deleted
    assert same(world.rows(FACTS), summaries(health, (ann, D1), (ann, D2)))
    assert world.scalar("SELECT steps FROM fact_health_daily WHERE user_id = %s", ann) == 329.0


def test_a_nightly_run_with_no_batch_due_still_brings_the_health_facts_up_to_date(
    world: EtlWorld, health: PostgresHealthStore, source: SqlHealthSource, people: dict[str, str]
) -> None:
    world.nightly(at(D4, 2), health=source)
    per_minute(health, people["bob"], Metric.STEPS, at(D2, 18), [10.0, 25.0])
    refresh_all(health)
    world.now = at(D4, 3)  # the scheduler's retry of a night whose health step failed
    deps = replace(world.deps, health=source)

    interval = nightly_interval(deps)
    assert interval is not None
    report = run_etl(deps, interval)

    assert (interval.start, interval.end) == (at(D4, 0), at(D4, 0))
    assert report.counts.read == {"health": 1}
    steps = "SELECT steps FROM fact_health_daily WHERE user_id = %s"
    assert world.scalar(steps, people["bob"]) == 35.0
    assert nightly_interval(world.deps) is None  # without a health source: nothing to do


def test_a_backfill_rederives_its_days_and_overwrites_a_fact_that_drifted(
    world: EtlWorld, health: PostgresHealthStore, source: SqlHealthSource, people: dict[str, str]
) -> None:
    world.nightly(at(D4, 2), health=source)
    with world.warehouse.connect() as conn, conn.transaction():
        conn.execute("UPDATE fact_health_daily SET steps = -1, resting_heart_rate = NULL")

    report = world.load(D2, D2, health=source)

    assert report.counts.written["health"] == 2  # D2 of Ann and Bob; D1 is not in the backfill
    ann, bob = people["ann"], people["bob"]
    rows = world.rows(FACTS)
    assert same(
        [row for row in rows if row[1] == date_key(D2)], summaries(health, (ann, D2), (bob, D2))
    )
    assert [row[3] for row in rows if row[1] == date_key(D1)] == [-1]


def test_an_erased_account_leaves_no_health_facts_and_is_not_loaded_again(
    world: EtlWorld, health: PostgresHealthStore, source: SqlHealthSource, people: dict[str, str]
) -> None:
    ann, bob = people["ann"], people["bob"]
    world.nightly(at(D4, 2), health=source)

    world.erase(ann, at(D4, 9))  # the health store still has her rows: the ETL must not care
    world.nightly(at(D5, 2), health=source)

    assert world.rows("SELECT DISTINCT user_id FROM fact_health_daily") == [(bob,)]
    assert world.scalar("SELECT count(*) FROM dim_user WHERE user_id = %s", ann) == 0
    world.load(D1, D2, health=source)  # a backfill of her days brings nothing back
    assert world.rows("SELECT DISTINCT user_id FROM fact_health_daily") == [(bob,)]


def test_facts_of_the_day_still_running_are_left_to_the_next_night(
    world: EtlWorld, health: PostgresHealthStore, source: SqlHealthSource, people: dict[str, str]
) -> None:
    a_full_day(health, people["bob"], D4)
    refresh_all(health)

    world.nightly(at(D4, 2), health=source)

    assert world.scalar("SELECT max(date_key) FROM fact_health_daily") == date_key(D2)
    world.nightly(at(D5, 2), health=source)
    assert world.scalar("SELECT max(date_key) FROM fact_health_daily") == date_key(D4)


def test_without_a_health_database_a_run_skips_health_facts_and_says_so(
    world: EtlWorld, people: dict[str, str]
) -> None:
    report = world.nightly(at(D4, 2))

    assert report is not None
    assert report.notes == (SKIPPED,)
    assert "ETL_HEALTH_DATABASE_URL" in describe(report)
    assert "health" not in report.counts.read
    assert world.scalar("SELECT count(*) FROM fact_health_daily") == 0


def test_the_health_source_is_ready_only_once_the_service_has_created_its_tables(
    postgres_server: str,
) -> None:
    url = embedded_postgres.create_database(postgres_server, f"health_{uuid.uuid4().hex[:12]}")
    missing = url.rsplit("/", 1)[0] + "/no_such_database"

    assert not SqlHealthSource(make_engine(missing, pool_size=1)).ready()
    empty = SqlHealthSource(make_engine(url, pool_size=1))
    assert not empty.ready()
    open_store(url, pool_size=1).close()
    assert empty.ready()


def test_the_weekly_health_report_sums_steps_and_averages_sleep_per_user(
    world: EtlWorld, source: SqlHealthSource, people: dict[str, str]
) -> None:
    world.nightly(at(D4, 2), health=source)

    columns, rows = reports.fetch(world.warehouse, "health-per-user-week", 10)

    week = {row[columns.index("username")]: dict(zip(columns, row, strict=True)) for row in rows}
    ann, bob = week["ann"], week["bob"]
    assert (ann["iso_year"], ann["iso_week"], ann["days"]) == (2026, 10, 2)
    assert (ann["steps"], ann["active_zone_minutes"], ann["asleep_minutes_per_night"]) == (
        656,
        10,
        415,
    )
    assert 60 <= ann["resting_heart_rate"] <= 90
    assert (bob["days"], bob["steps"], bob["resting_heart_rate"]) == (1, 30, None)
    assert bob["asleep_minutes_per_night"] is None


def test_the_facts_of_a_daylight_saving_day_are_whole_whatever_the_session_time_zone(
    world: EtlWorld, health: PostgresHealthStore
) -> None:
    # 2026-03-08: New York's clocks spring forward, so its "1 day" from 00:00 UTC ends at
    # 23:00 UTC; the last hour's heart rate and the night ending in it must still count.
    dst = date(2026, 3, 8)
    ann = world.register("ann", 60.0, at(dst, 1))
    heart_rate(health, ann, at(dst, 23, 10), 45)
    health.write_sleep(ann, [night(at(dst, 16, 30))])  # 7 hours: it ends at 23:30 UTC
    refresh_all(health)
    zoned = make_engine(str(health.engine.url), pool_size=2)
    event.listen(zoned, "connect", _in_new_york)
    world.nightly(at(dst + timedelta(days=2), 2), health=SqlHealthSource(zoned))
    found = world.rows(FACTS)
    assert same(found, summaries(health, (ann, dst)))
    assert found[0][2] is not None  # a resting heart rate from the last hour's minutes
    assert found[0][8] == 75.0  # the deep sleep of the night ending in that hour


def _in_new_york(connection: Any, _record: Any) -> None:
    """A session whose time zone is not UTC (a developer's machine, a managed database)."""
    connection.execute("SET timezone = 'America/New_York'")
    connection.commit()  # a rolled-back SET is undone
