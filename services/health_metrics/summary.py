"""What a day and a night add up to: series values, resting heart rate, sleep by stage.

Pure: the service reads rollups and sessions, this computes from them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta

from services.health_metrics.domain import (
    SPECS,
    DailySummary,
    Metric,
    Rollup,
    SeriesPoint,
    SleepSession,
    SleepStage,
    SleepSummary,
)

RESTING_WINDOW = 30  # consecutive 1-minute buckets the resting heart rate is the mean of
MINUTE = timedelta(minutes=1)


def value_of(metric: Metric, rollup: Rollup) -> float:
    """A bucket's value as the API shows it: its sum if the metric adds up, else its mean."""
    return rollup.total if SPECS[metric].additive else rollup.mean


def series_point(metric: Metric, rollup: Rollup) -> SeriesPoint:
    """A bucket as a point of a read series."""
    return SeriesPoint(
        rollup.start, value_of(metric, rollup), rollup.low, rollup.high, rollup.count, False
    )


def stage_minutes(sessions: Iterable[SleepSession]) -> dict[SleepStage, float]:
    """Minutes per stage over the sessions, every stage listed (0 when absent)."""
    seconds = dict.fromkeys(SleepStage, 0.0)
    for session in sessions:
        for span in session.stages:
            seconds[span.stage] += (span.end - span.start).total_seconds()
    return {stage: total / 60 for stage, total in seconds.items()}


def sleep_summary(session: SleepSession) -> SleepSummary:
    """A session with its minutes per stage."""
    return SleepSummary(session, stage_minutes([session]))


def resting_heart_rate(minutes: Sequence[Rollup]) -> float | None:
    """The lowest mean of the minute means over 30 consecutive minutes present (buckets
    in time order); None when no 30 consecutive minutes are present."""
    lowest: float | None = None
    for run in _runs(minutes):
        means = [bucket.mean for bucket in run]
        for first in range(len(means) - RESTING_WINDOW + 1):
            mean = math.fsum(means[first : first + RESTING_WINDOW]) / RESTING_WINDOW
            lowest = mean if lowest is None else min(lowest, mean)
    return lowest


def _runs(minutes: Sequence[Rollup]) -> list[list[Rollup]]:
    """The stretches of buckets one minute apart."""
    runs: list[list[Rollup]] = []
    for bucket in minutes:
        if runs and bucket.start - runs[-1][-1].start == MINUTE:
            runs[-1].append(bucket)
        else:
            runs.append([bucket])
    return runs


def daily_summary(
    day: date,
    heart_minutes: Sequence[Rollup],
    days: Mapping[Metric, Rollup],
    nights: Iterable[SleepSession],
) -> DailySummary:
    """The day's summary from its heart-rate minutes, its day buckets per metric and the
    sessions ending on it."""

    def of(metric: Metric) -> float | None:
        rollup = days.get(metric)
        return None if rollup is None else value_of(metric, rollup)

    return DailySummary(
        day=day,
        resting_heart_rate=resting_heart_rate(heart_minutes),
        steps=of(Metric.STEPS),
        active_zone_minutes=of(Metric.ACTIVE_ZONE_MINUTES),
        spo2_mean=of(Metric.SPO2),
        hrv_mean=of(Metric.HRV),
        breathing_rate_mean=of(Metric.BREATHING_RATE),
        sleep_minutes=stage_minutes(nights),
    )
