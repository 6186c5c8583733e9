"""Pure transforms from source records to warehouse rows."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime

from etl.domain import DayTotals, GoalRecord, Mismatch, UserRecord, WorkoutRecord
from services.common.timeutil import as_utc

# Sums of floats in another order differ in the last bits; anything below this is equal.
TOLERANCE = 1e-6


def date_key(day: date) -> int:
    """The date dimension's key: YYYYMMDD as an integer."""
    return day.year * 10000 + day.month * 100 + day.day


def key_date(key: int) -> date:
    """The date behind a YYYYMMDD key."""
    return date(key // 10000, key // 100 % 100, key % 100)


def workout_fact(record: WorkoutRecord) -> tuple[object, ...]:
    """A fact_workout row: UTC times, the start day's date key, a clean workout type."""
    start = _utc(record.start_time)
    return (
        record.session_id,
        record.user_id,
        day_key(start),
        record.workout_type.strip().lower(),
        start,
        _utc(record.end_time),
        float(record.duration),
        float(record.calories_burned),
        _utc(record.updated_at),
    )


def _utc(moment: datetime | str) -> datetime | str:
    """A time in UTC; UTC text stays text (the warehouse session reads it as UTC)."""
    return moment if isinstance(moment, str) else as_utc(moment)


def day_key(moment: datetime | str) -> int:
    """The date key of a UTC time or of UTC text."""
    if isinstance(moment, str):
        return int(moment[0:4]) * 10000 + int(moment[5:7]) * 100 + int(moment[8:10])
    return date_key(moment.date())


def user_version(record: UserRecord) -> tuple[object, ...]:
    """A dim_user candidate version: tracked attributes and when they took effect."""
    return (
        record.user_id,
        record.username,
        record.display_name.strip(),
        record.weight_kg,
        record.height_cm,
        record.birth_year,
        as_utc(record.created_at),
        as_utc(record.updated_at),
    )


def goal_fact(record: GoalRecord) -> tuple[object, ...]:
    """A fact_goal row with date keys for creation, target and achievement."""
    created = as_utc(record.created_at)
    achieved = as_utc(record.achieved_at) if record.achieved_at else None
    return (
        record.goal_id,
        record.user_id,
        record.goal_type,
        float(record.target_value),
        float(record.current_progress),
        record.status,
        record.target_date,
        date_key(created.date()),
        date_key(record.target_date),
        date_key(achieved.date()) if achieved else None,
        created,
        achieved,
        as_utc(record.updated_at),
    )


def parse_timestamp(value: datetime | str) -> datetime:
    """A stored timestamp as aware UTC; SQLite may hand back ISO text."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return as_utc(moment)


def compare_totals(
    table: str, expected: dict[date, DayTotals], found: dict[date, DayTotals]
) -> list[Mismatch]:
    """Days whose counts or sums in ``table`` (found) differ from the expected ones."""
    empty = DayTotals(0, 0.0, 0.0)
    return [
        Mismatch(day, table, expected.get(day, empty), found.get(day, empty))
        for day in sorted(set(expected) | set(found))
        if not _same(expected.get(day, empty), found.get(day, empty))
    ]


def _same(left: DayTotals, right: DayTotals) -> bool:
    return left.workouts == right.workouts and all(
        _close(a, b) for a, b in ((left.duration, right.duration), (left.calories, right.calories))
    )


def _close(a: float, b: float) -> bool:
    # A NaN a store holds sums to NaN on both sides: that is agreement, not drift.
    both_nan = math.isnan(a) and math.isnan(b)
    return both_nan or math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def add_totals(*parts: dict[date, DayTotals]) -> dict[date, DayTotals]:
    """Per-day totals summed over several tables."""
    summed: dict[date, DayTotals] = {}
    for part in parts:
        for day, totals in part.items():
            have = summed.get(day, DayTotals(0, 0.0, 0.0))
            summed[day] = DayTotals(
                have.workouts + totals.workouts,
                have.duration + totals.duration,
                have.calories + totals.calories,
            )
    return summed


def days_of(keys: Iterable[int]) -> list[date]:
    """The sorted calendar days behind date keys."""
    return sorted({key_date(key) for key in keys})
