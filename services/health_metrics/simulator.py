"""One simulated day of a Fitbit Charge 6, shaped like wearipedia's ``fitbit/fitbit_charge_6``
synthetic data (recorded in tests/data/wearipedia/fitbit_charge_6.json), without its quirks.

Kept from wearipedia: heart rate every second within its 50-195 bpm clip; SpO2 (95-100 %,
a walk of at most 0.5 a minute) and HRV (rmssd 20-80 ms) every minute of a night, timed
from the second the night began; breathing rate per sleep stage (deep ~12, REM ~16, light
~18 breaths/min); very/fairly/lightly active minutes of 0-240 a day worth 50/25/10 steps;
a zone minute (0 or 1) for a minute whose mean heart rate is above 87 bpm; one sleep a
night of 4-10 h starting 21:00-23:58 with deep/light/rem/wake stages.
Changed: the heart rate follows sleep and activity instead of a walk that sits on its clip
limits most of the day; steps come per minute (wearipedia gives a day total only); stages
follow each other without overlapping; SpO2 and HRV belong to the night's session; the seed
counts. Added: gaps, as a worn device has them (a charge of 20-100 min most days, short
dropouts of heart rate, minutes without SpO2/HRV).

A day is the UTC date's points (so a night is split between two days) and the session of
the night ending that day. Everything is a pure function of (seed, user, day).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

from services.health_metrics.domain import Metric, Point, SleepSession, SleepStage, StageSpan

DAY_SECONDS = 86_400
DAY_MINUTES = 1_440
HR_LOW, HR_HIGH = 50.0, 195.0  # wearipedia's HR_MIN/HR_MAX clip
SPO2_LOW, SPO2_HIGH = 95.0, 100.0
RMSSD_LOW, RMSSD_HIGH = 20.0, 80.0
ZONE_BPM = 87.0  # wearipedia's lowest zone threshold (fat burn)
# Breathing rate per stage: wearipedia's normal(mean, std) per night.
BREATHING = {
    SleepStage.DEEP: (12.0, 1.5),
    SleepStage.REM: (16.0, 1.5),
    SleepStage.LIGHT: (18.0, 2.0),
}
# Heart rate while asleep, relative to the user's resting rate.
STAGE_BPM = {
    SleepStage.WAKE: 8.0,
    SleepStage.LIGHT: -3.0,
    SleepStage.REM: 0.0,
    SleepStage.DEEP: -8.0,
}
# Activity levels: (steps a minute as wearipedia counts them, heart rate above resting).
LEVELS = ((0, 0.0), (10, 22.0), (25, 40.0), (50, 62.0))  # sedentary, light, fairly, very
AWAKE_HOURS = (6, 21)  # active bouts fall between these UTC hours
# What each metric stands for in wearipedia's output: (data type, field of an entry).
WEARIPEDIA_FIELDS = {
    Metric.HEART_RATE: ("intraday_heart_rate", "value"),
    Metric.SPO2: ("intraday_spo2", "value"),
    Metric.HRV: ("intraday_hrv", "rmssd"),
    Metric.STEPS: ("intraday_activity", "value"),
    Metric.ACTIVE_ZONE_MINUTES: ("intraday_active_zone_minute", "activeZoneMinutes"),
    Metric.BREATHING_RATE: ("intraday_breath_rate", "value"),
}
BREATHING_SUMMARIES = {
    SleepStage.DEEP: "deepSleepSummary",
    SleepStage.REM: "remSleepSummary",
    SleepStage.LIGHT: "lightSleepSummary",
}
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SimulatedDay:
    """The points of one UTC day per metric (time order) and the night ending that day."""

    user_id: str
    day: date
    points: dict[Metric, tuple[Point, ...]]
    sleep: tuple[SleepSession, ...]


@dataclass(frozen=True)
class Night:
    """One night's session and its per-minute SpO2/HRV and per-stage breathing points."""

    session: SleepSession
    spo2: tuple[Point, ...]
    hrv: tuple[Point, ...]
    breathing: tuple[Point, ...]


def rng(seed: int, *parts: object) -> np.random.Generator:
    """A generator seeded from the parts' text (stable across processes, unlike hash())."""
    text = "/".join(str(p) for p in (seed, *parts)).encode()
    return np.random.default_rng(int.from_bytes(hashlib.blake2b(text, digest_size=16).digest()))


def midnight(day: date) -> datetime:
    """The UTC start of ``day``."""
    return datetime.combine(day, time(), UTC)


def resting_bpm(seed: int, user_id: str) -> float:
    """The user's resting heart rate (52-72 bpm), the same every day."""
    return float(rng(seed, user_id, "resting").uniform(52, 72))


def night_of(user_id: str, night: date, seed: int) -> Night:
    """The night ending on ``night``: asleep from 21:00-23:58 the evening before, 4-10 h."""
    r = rng(seed, user_id, night.isoformat(), "night")
    start = midnight(night) - timedelta(hours=3) + timedelta(seconds=int(r.integers(0, 178 * 60)))
    end = start + timedelta(seconds=int(r.integers(14_400, 36_000)))
    stages = stages_between(r, start, end)
    minutes = [start + timedelta(minutes=k) for k in range((end - start) // timedelta(minutes=1))]
    kept = r.random(len(minutes)) >= 0.03  # a minute of too little signal has no value
    rmssd = np.clip(r.uniform(30, 65) + r.normal(0, 8, len(minutes)), RMSSD_LOW, RMSSD_HIGH)
    return Night(
        SleepSession(start, end, stages),
        kept_points(minutes, spo2_walk(r, len(minutes)), kept, 1),
        kept_points(minutes, rmssd, kept, 3),
        breathing_points(r, stages),
    )


def spo2_walk(r: np.random.Generator, count: int) -> Floats:
    """wearipedia's SpO2: steps of -0.5..0.5 a minute within 95-100 %, pulled back towards
    the night's level (its pure walk sits on the limits)."""
    level = float(np.clip(r.normal(97.5, 1.0), 96, 99))
    values, value = np.empty(count), level
    for i, change in enumerate(np.round(r.uniform(-0.5, 0.5, count), 1)):
        value = min(SPO2_HIGH, max(SPO2_LOW, value + change + 0.1 * (level - value)))
        values[i] = value
    return values


def breathing_points(r: np.random.Generator, stages: Iterable[StageSpan]) -> tuple[Point, ...]:
    """One breathing rate at the start of each deep/light/REM span: the night's rate of
    that stage, +-0.4."""
    rates = {stage: r.normal(mean, std) for stage, (mean, std) in BREATHING.items()}
    return tuple(
        Point(span.start, round(float(rates[span.stage] + r.normal(0, 0.4)), 2))
        for span in stages
        if span.stage in rates
    )


def kept_points(
    times: list[datetime], values: Floats, kept: Bools, digits: int
) -> tuple[Point, ...]:
    """Points of the kept times, values rounded to ``digits`` as the device reports them."""
    return tuple(
        Point(t, round(float(v), digits)) for t, v, k in zip(times, values, kept, strict=True) if k
    )


def stages_between(r: np.random.Generator, start: datetime, end: datetime) -> tuple[StageSpan, ...]:
    """Falling asleep, ~90-minute cycles of light/deep/light/REM (deep early, REM late,
    a short wake now and then), waking up: contiguous spans from ``start`` to ``end``."""
    total = (end - start).total_seconds()
    plan = [(SleepStage.WAKE, total * r.uniform(0.005, 0.02) + 60)]
    elapsed = plan[0][1]
    while elapsed < total:
        late = elapsed / total
        for stage, low, high in (
            (SleepStage.LIGHT, 10, 30),
            (SleepStage.DEEP, 5 + 25 * (1 - late), 15 + 30 * (1 - late)),
            (SleepStage.LIGHT, 5, 15),
            (SleepStage.REM, 5 + 20 * late, 10 + 30 * late),
            (SleepStage.WAKE, 1, 1 + 5 * float(r.random() < 0.4)),
        ):
            plan.append((stage, 60 * r.uniform(low, high)))
            elapsed += plan[-1][1]
    plan.append((SleepStage.WAKE, total * r.uniform(0.0, 0.02) + 60))
    return spans_of(plan, start, end)


def spans_of(
    plan: list[tuple[SleepStage, float]], start: datetime, end: datetime
) -> tuple[StageSpan, ...]:
    """The planned (stage, seconds) as spans on whole seconds, the last waking at ``end``;
    spans past the end are cut off, and a stage after the same stage merges into it."""
    wake_up = plan.pop()
    budget = (end - start).total_seconds() - wake_up[1]
    spans: list[StageSpan] = []
    at = start
    for stage, seconds in plan:
        until = min(
            start + timedelta(seconds=round(budget)), at + timedelta(seconds=round(seconds))
        )
        if until <= at:
            break
        spans.append(StageSpan(stage, at, until))
        at = until
    spans.append(StageSpan(SleepStage.WAKE, at, end))
    merged: list[StageSpan] = []
    for span in spans:
        if merged and merged[-1].stage is span.stage:
            span = StageSpan(span.stage, merged.pop().start, span.end)
        merged.append(span)
    return tuple(merged)


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
