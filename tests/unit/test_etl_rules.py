"""The ETL's pure parts: batching, transforms, reconciliation, scheduling, tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from etl.domain import DayTotals, Interval, Window, WorkoutRecord
from etl.pipeline import days_interval
from etl.reports import render
from etl.schedule import NightlyScheduler, next_run_at
from etl.transform import compare_totals, date_key, key_date, workout_fact

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def test_an_interval_splits_into_batches_ending_at_each_midnight() -> None:
    interval = Interval(T0 + timedelta(hours=20), T0 + timedelta(days=2, hours=3))

    assert interval.batches() == [
        Window(T0 + timedelta(hours=20), T0 + timedelta(days=1)),
        Window(T0 + timedelta(days=1), T0 + timedelta(days=2)),
        Window(T0 + timedelta(days=2), T0 + timedelta(days=2, hours=3)),
    ]


def test_an_empty_interval_has_no_batches() -> None:
    assert Interval(T0, T0).batches() == []


def test_days_include_both_ends_and_refuse_a_backwards_range() -> None:
    assert days_interval(date(2026, 3, 2), date(2026, 3, 3)) == Interval(T0, T0 + timedelta(days=2))
    with pytest.raises(ValueError, match="before --from"):
        days_interval(date(2026, 3, 3), date(2026, 3, 2))


def test_days_stop_at_now_and_cannot_begin_in_the_future() -> None:
    now = T0 + timedelta(hours=5)

    assert days_interval(date(2026, 3, 1), date(2026, 3, 2), now) == Interval(
        T0 - timedelta(days=1), now
    )
    with pytest.raises(ValueError, match="has not begun"):
        days_interval(date(2026, 3, 3), date(2026, 3, 3), now)


def test_date_keys_round_trip() -> None:
    assert date_key(date(2026, 12, 31)) == 20261231
    assert key_date(20261231) == date(2026, 12, 31)


def test_a_workout_fact_is_in_utc_keyed_by_its_start_day_with_a_clean_type() -> None:
    naive_start = datetime(2026, 3, 2, 23, 30)  # SQLite hands back naive UTC
    record = WorkoutRecord(
        "s1", "u1", " Cycling ", naive_start, naive_start + timedelta(hours=1), 3600, 500, T0
    )

    fact = workout_fact(record)

    assert fact[2] == 20260302
    assert fact[3] == "cycling"
    assert fact[4] == naive_start.replace(tzinfo=UTC)
    assert fact[6:8] == (3600.0, 500.0)


def test_utc_text_from_sqlite_stays_text_and_keys_the_same_day() -> None:
    record = WorkoutRecord(
        "s1", "u1", "yoga", "2026-03-02 23:30:00.000000", "2026-03-03 00:10:00", 2400, 90, "x"
    )

    fact = workout_fact(record)

    assert fact[2] == 20260302
    assert fact[4] == "2026-03-02 23:30:00.000000"


def test_totals_that_agree_within_float_noise_match() -> None:
    day = date(2026, 3, 2)
    source = {day: DayTotals(3, 5400.0, 0.1 + 0.2)}
    warehouse = {day: DayTotals(3, 5400.0, 0.3)}

    assert compare_totals("fact_workout", source, warehouse) == []


def test_a_missing_day_a_count_or_a_sum_that_differs_is_a_mismatch() -> None:
    days = [date(2026, 3, d) for d in (2, 3, 4)]
    source = {days[0]: DayTotals(1, 60.0, 10.0), days[1]: DayTotals(2, 60.0, 10.0)}
    warehouse = {days[1]: DayTotals(2, 60.0, 10.5), days[2]: DayTotals(1, 1.0, 1.0)}

    mismatches = compare_totals("agg_daily_activity", source, warehouse)

    assert [m.day for m in mismatches] == days
    assert mismatches[0].found == DayTotals(0, 0.0, 0.0)
    assert "agg_daily_activity" in str(mismatches[1])


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 2, 1, 0, tzinfo=UTC), datetime(2026, 3, 2, 2, 0, tzinfo=UTC)),
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), datetime(2026, 3, 3, 2, 0, tzinfo=UTC)),
        (datetime(2026, 3, 2, 23, 0, tzinfo=UTC), datetime(2026, 3, 3, 2, 0, tzinfo=UTC)),
    ],
)
def test_the_next_run_is_the_next_occurrence_of_the_scheduled_time(
    now: datetime, expected: datetime
) -> None:
    assert next_run_at(now, time(2, 0)) == expected


class FakeTime:
    """A clock that moves only when the scheduler waits, and stops after N waits."""

    def __init__(self, start: datetime, waits: int) -> None:
        self.now = start
        self.waits_left = waits

    def clock(self) -> datetime:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += timedelta(seconds=max(seconds, 1.0))
        self.waits_left -= 1
        return self.waits_left <= 0


def test_the_scheduler_catches_up_at_start_then_runs_every_night() -> None:
    fake = FakeTime(datetime(2026, 3, 2, 14, 0, tzinfo=UTC), waits=2 * 24 * 60 + 30)
    runs: list[datetime] = []

    NightlyScheduler(
        lambda: runs.append(fake.now), time(2, 0), timedelta(minutes=30), fake.clock, fake.wait
    ).run_forever()

    assert [r.strftime("%d %H:%M") for r in runs] == ["02 14:00", "03 02:00", "04 02:00"]


def test_a_failed_night_is_retried_after_the_pause() -> None:
    fake = FakeTime(datetime(2026, 3, 2, 2, 0, tzinfo=UTC), waits=40)
    attempts: list[datetime] = []

    def fail_once() -> None:
        attempts.append(fake.now)
        if len(attempts) == 1:
            raise ConnectionError("warehouse down")

    NightlyScheduler(
        fail_once, time(2, 0), timedelta(minutes=30), fake.clock, fake.wait
    ).run_forever()

    assert [a.strftime("%H:%M") for a in attempts] == ["02:00", "02:30"]


def test_a_table_aligns_text_left_and_numbers_right() -> None:
    table = render(["name", "kcal"], [("ann", 1200.5), ("bob", 80)])

    assert table.splitlines() == [
        "name    kcal",
        "----  ------",
        "ann   1200.5",
        "bob       80",
    ]
