"""Summaries: resting heart rate, day totals and means, sleep by stage; pure and through the
use case."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.health_metrics import service
from services.health_metrics.domain import (
    InvalidInput,
    Metric,
    Rollup,
    SleepSession,
    SleepStage,
    StageSpan,
)
from services.health_metrics.summary import resting_heart_rate, stage_minutes, value_of
from tests.unit.health_metrics.fake_store import FakeHealthStore
from tests.unit.health_metrics.support import USER, at, deps, stored


def minute(index: int, mean: float, count: int = 1) -> Rollup:
    """A 1-minute heart-rate bucket ``index`` minutes into the test day."""
    return Rollup(at(index), mean, mean, mean * count, count)


def test_resting_heart_rate_is_the_lowest_mean_of_30_consecutive_minutes() -> None:
    minutes = [minute(i, 70.0) for i in range(60)]
    minutes += [minute(i, 50.0) for i in range(60, 90)]
    minutes += [minute(i, 80.0) for i in range(90, 120)]
    assert resting_heart_rate(minutes) == 50.0


def test_resting_heart_rate_averages_the_minute_means_not_the_points() -> None:
    # One minute of 10 points at 40 and 29 of one point at 70: the minutes' mean is 69.
    minutes = [minute(0, 40.0, count=10)] + [minute(i, 70.0) for i in range(1, 30)]
    assert resting_heart_rate(minutes) == pytest.approx(69.0)


def test_a_window_may_start_anywhere_in_a_run() -> None:
    minutes = [minute(i, 60.0 if 10 <= i < 40 else 90.0) for i in range(50)]
    assert resting_heart_rate(minutes) == 60.0


def test_fewer_than_30_consecutive_minutes_have_no_resting_heart_rate() -> None:
    assert resting_heart_rate([minute(i, 60.0) for i in range(29)]) is None
    assert resting_heart_rate([]) is None


def test_a_missing_minute_breaks_the_run() -> None:
    minutes = [minute(i, 60.0) for i in range(59) if i != 29]
    assert resting_heart_rate(minutes) is None
    assert resting_heart_rate([*minutes, minute(59, 60.0)]) == 60.0


@given(st.lists(st.floats(20, 250, allow_nan=False), min_size=30, max_size=90))
def test_resting_heart_rate_lies_within_the_minute_means_and_under_every_window(
    means: list[float],
) -> None:
    found = resting_heart_rate([minute(i, mean) for i, mean in enumerate(means)])
    assert found is not None
    assert min(means) - 1e-9 <= found <= max(means) + 1e-9
    windows = [sum(means[i : i + 30]) / 30 for i in range(len(means) - 29)]
    assert found == pytest.approx(min(windows), rel=1e-9)


def test_a_bucket_reads_as_its_sum_for_additive_metrics_and_its_mean_otherwise() -> None:
    bucket = Rollup(at(0), 1.0, 3.0, 6.0, 3)
    assert value_of(Metric.STEPS, bucket) == 6.0
    assert value_of(Metric.ACTIVE_ZONE_MINUTES, bucket) == 6.0
    assert value_of(Metric.HEART_RATE, bucket) == 2.0


def session(start: float, *stages: tuple[SleepStage, float, float]) -> SleepSession:
    """A session starting ``start`` hours after the test day's start, its stages in minutes
    from that start; it ends with its last stage."""
    first = at(hours=start)
    spans = tuple(
        StageSpan(stage, first + timedelta(minutes=a), first + timedelta(minutes=b))
        for stage, a, b in stages
    )
    return SleepSession(first, spans[-1].end, spans)


def test_stage_minutes_add_up_per_stage_and_list_every_stage() -> None:
    night = session(
        -2,
        (SleepStage.LIGHT, 0, 30),
        (SleepStage.DEEP, 30, 75),
        (SleepStage.LIGHT, 80, 90.5),
    )
    assert stage_minutes([night]) == {
        SleepStage.DEEP: 45.0,
        SleepStage.LIGHT: 40.5,
        SleepStage.REM: 0.0,
        SleepStage.WAKE: 0.0,
    }


def test_a_day_sums_steps_and_zone_minutes_and_averages_the_rest() -> None:
    store = FakeHealthStore()
    stored(store, "steps", [(at(0), 100.0), (at(hours=23), 50.0), (at(days=1), 7.0)])
    stored(store, "active_zone_minutes", [(at(0), 1.0), (at(1), 2.0)])
    stored(store, "spo2", [(at(0), 95.0), (at(hours=5), 99.0)])
    stored(store, "hrv", [(at(0), 40.0), (at(1), 50.0), (at(2), 60.0)])
    stored(store, "breathing_rate", [(at(0), 14.0)])
    stored(store, "heart_rate", [(at(i), 55.0 + (i % 2) * 10) for i in range(40)])
    found = service.daily_summary(deps(store), USER, date(2026, 5, 1))
    assert (found.day, found.steps, found.active_zone_minutes) == (date(2026, 5, 1), 150.0, 3.0)
    assert (found.spo2_mean, found.hrv_mean, found.breathing_rate_mean) == (97.0, 50.0, 14.0)
    assert found.resting_heart_rate == 60.0


def test_a_day_counts_the_sleep_of_the_sessions_ending_on_it() -> None:
    store = FakeHealthStore()
    evening_before = session(-3, (SleepStage.LIGHT, 0, 60), (SleepStage.REM, 60, 240))
    nap = session(14, (SleepStage.LIGHT, 0, 20))
    next_night = session(23, (SleepStage.DEEP, 0, 90))
    service.write_sleep(deps(store), USER, [evening_before, nap, next_night])
    found = service.daily_summary(deps(store), USER, date(2026, 5, 1))
    assert found.sleep_minutes == {
        SleepStage.DEEP: 0.0,
        SleepStage.LIGHT: 80.0,
        SleepStage.REM: 180.0,
        SleepStage.WAKE: 0.0,
    }


def test_a_day_without_data_has_no_values_and_no_sleep() -> None:
    found = service.daily_summary(deps(FakeHealthStore()), USER, date(2026, 5, 1))
    assert found.resting_heart_rate is found.steps is found.spo2_mean is None
    assert found.active_zone_minutes is found.hrv_mean is found.breathing_rate_mean is None
    assert set(found.sleep_minutes.values()) == {0.0}


@pytest.mark.parametrize("day", [date(1999, 12, 31), date(2026, 6, 3), date.max, date.min])
def test_a_day_before_2000_or_after_tomorrow_is_refused(day: date) -> None:
    with pytest.raises(InvalidInput, match="day must be from 2000-01-01 to tomorrow"):
        service.daily_summary(deps(FakeHealthStore()), USER, day)


def test_tomorrow_may_be_asked_for() -> None:
    found = service.daily_summary(deps(FakeHealthStore()), USER, date(2026, 6, 2))
    assert found.steps is None
