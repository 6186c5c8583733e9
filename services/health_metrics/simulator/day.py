"""A simulated UTC day: heart rate each second, steps and zone minutes each minute, the
night points that fall on the day, and the session of the night ending on it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from services.health_metrics.domain import Metric, Point, SleepSession
from services.health_metrics.simulator.night import Night, night_of
from services.health_metrics.simulator.shape import (
    AWAKE_HOURS,
    DAY_MINUTES,
    DAY_SECONDS,
    HR_HIGH,
    HR_LOW,
    LEVELS,
    STAGE_BPM,
    ZONE_BPM,
    Bools,
    Floats,
    midnight,
    rng,
)


@dataclass(frozen=True)
class SimulatedDay:
    """The points of one UTC day per metric (time order) and the night ending that day."""

    user_id: str
    day: date
    points: dict[Metric, tuple[Point, ...]]
    sleep: tuple[SleepSession, ...]


def resting_bpm(seed: int, user_id: str) -> float:
    """The user's resting heart rate (52-72 bpm), the same every day."""
    return float(rng(seed, user_id, "resting").uniform(52, 72))


def simulate_day(user_id: str, day: date, seed: int = 0) -> SimulatedDay:
    """Every metric's points of the UTC ``day`` and the session of the night ending on it."""
    r = rng(seed, user_id, day.isoformat(), "day")
    base = midnight(day)
    nights = (night_of(user_id, day, seed), night_of(user_id, day + timedelta(days=1), seed))
    stage_bpm, asleep = sleep_seconds(base, (n.session for n in nights))
    asleep_minutes = any_second(asleep)
    levels = activity_levels(r, asleep_minutes)
    charged, dropped = off_wrist(r, asleep)
    measured = ~charged & ~dropped
    active_bpm = np.array([bpm for _, bpm in LEVELS])[levels]
    bpm = heart_rate(r, resting_bpm(seed, user_id) + stage_bpm + np.repeat(active_bpm, 60))
    counted = ~any_second(charged)
    points = {
        Metric.HEART_RATE: on_seconds(base, bpm, measured, 1),
        Metric.STEPS: on_seconds(base, steps(r, levels, asleep_minutes), counted, 60),
        Metric.ACTIVE_ZONE_MINUTES: on_seconds(
            base, zone_minutes(bpm, measured), any_second(measured), 60
        ),
        **night_points(nights, base),
    }
    return SimulatedDay(user_id, day, points, (nights[0].session,))


def by_minute(seconds: Bools) -> Bools:
    """A day of seconds as 1,440 rows of 60."""
    return seconds.reshape(DAY_MINUTES, 60)


def any_second(seconds: Bools) -> Bools:
    """Per minute of the day: whether any of its seconds is set."""
    minutes: Bools = by_minute(seconds).sum(axis=1) > 0
    return minutes


def sleep_seconds(base: datetime, sessions: Iterable[SleepSession]) -> tuple[Floats, Bools]:
    """Per second of the day: the heart rate offset of the sleep stage, and whether asleep."""
    offset, asleep = np.zeros(DAY_SECONDS), np.zeros(DAY_SECONDS, dtype=bool)
    for session in sessions:
        for span in session.stages:
            a = int(np.clip((span.start - base).total_seconds(), 0, DAY_SECONDS))
            b = int(np.clip((span.end - base).total_seconds(), 0, DAY_SECONDS))
            offset[a:b], asleep[a:b] = STAGE_BPM[span.stage], True
    return offset, asleep


def activity_levels(r: np.random.Generator, asleep: Bools) -> npt.NDArray[np.int64]:
    """Per minute 0-3 (sedentary..very active): bouts of 5-60 min making up wearipedia's
    0-240 minutes of each level in waking hours (less where a bout meets the night)."""
    levels = np.zeros(DAY_MINUTES, dtype=np.int64)
    first_minute, last_minute = (60 * h for h in AWAKE_HOURS)
    for level in (1, 2, 3):
        left = int(r.integers(0, 241))
        while left > 0:
            length = min(left, int(r.integers(5, 61)))
            first = int(r.integers(first_minute, last_minute - length))
            levels[first : first + length] = level
            left -= length
    return np.where(asleep, 0, levels)


def off_wrist(r: np.random.Generator, asleep: Bools) -> tuple[Bools, Bools]:
    """Seconds without a measurement: charging (20-100 min on 4 days of 5, while awake: no
    steps either) and 3-12 heart-rate dropouts of 5 s to 8 min (a loose band)."""
    charged, dropped = np.zeros(DAY_SECONDS, dtype=bool), np.zeros(DAY_SECONDS, dtype=bool)
    if r.random() < 0.8:
        length = int(r.integers(20, 101)) * 60
        first = int(r.integers(7 * 3600, 20 * 3600))
        charged[first : first + length] = ~asleep[first : first + length]
    for _ in range(int(r.integers(3, 13))):
        length = int(r.integers(5, 60) if r.random() < 0.5 else r.integers(60, 481))
        first = int(r.integers(0, DAY_SECONDS - length))
        dropped[first : first + length] = True
    return charged, dropped


def heart_rate(r: np.random.Generator, target: Floats) -> Floats:
    """Whole bpm following ``target`` (smoothed over 90 s) with slow noise, clipped as
    wearipedia clips."""
    smooth = np.convolve(np.pad(target, 45, mode="edge"), np.ones(91) / 91, mode="valid")
    kernel = np.exp(-np.arange(300) / 60.0)
    noise = np.convolve(
        r.normal(0, 1, DAY_SECONDS + 299), kernel / np.sqrt((kernel**2).sum()), "valid"
    )
    bpm: Floats = np.round(np.clip(smooth + 3.0 * noise, HR_LOW, HR_HIGH)).astype(np.float64)
    return bpm


def steps(r: np.random.Generator, levels: npt.NDArray[np.int64], asleep: Bools) -> Floats:
    """Steps a minute: the level's count +-30 %, a few steps in a tenth of idle waking
    minutes, none asleep."""
    counts = np.array([s for s, _ in LEVELS], dtype=float)[levels]
    active = np.round(counts * r.uniform(0.7, 1.3, DAY_MINUTES))
    idle = np.where(r.random(DAY_MINUTES) < 0.1, r.integers(1, 9, DAY_MINUTES), 0)
    counted: Floats = np.where(levels > 0, active, np.where(asleep, 0, idle)).astype(np.float64)
    return counted


def zone_minutes(bpm: Floats, worn: Bools) -> Floats:
    """1 for a minute whose measured mean heart rate is above the fat-burn threshold."""
    seconds = by_minute(worn).sum(axis=1)
    total = by_minute(np.where(worn, bpm, 0.0)).sum(axis=1)
    mean = np.divide(total, seconds, out=np.zeros(DAY_MINUTES), where=seconds > 0)
    zones: Floats = (mean > ZONE_BPM).astype(np.float64)
    return zones


def on_seconds(base: datetime, values: Floats, kept: Bools, step: int) -> tuple[Point, ...]:
    """Points every ``step`` seconds from ``base``, where ``kept``."""
    every = timedelta(seconds=step)
    times = [base + i * every for i in np.flatnonzero(kept).tolist()]
    return tuple(map(Point, times, values[kept].tolist()))


def night_points(nights: Iterable[Night], base: datetime) -> dict[Metric, tuple[Point, ...]]:
    """The SpO2, HRV and breathing points of the nights that fall on the day."""
    end = base + timedelta(days=1)
    chosen: dict[Metric, list[Point]] = {Metric.SPO2: [], Metric.HRV: [], Metric.BREATHING_RATE: []}
    for night in nights:
        for metric, points in (
            (Metric.SPO2, night.spo2),
            (Metric.HRV, night.hrv),
            (Metric.BREATHING_RATE, night.breathing),
        ):
            chosen[metric].extend(p for p in points if base <= p.time < end)
    return {metric: tuple(points) for metric, points in chosen.items()}
