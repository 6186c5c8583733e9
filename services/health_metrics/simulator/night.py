"""A simulated night: one staged sleep session, SpO2 and HRV each minute of it, and a
breathing rate per deep/light/REM span; a pure function of (seed, user, night)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from services.health_metrics.domain import Point, SleepSession, SleepStage, StageSpan
from services.health_metrics.simulator.shape import (
    BREATHING,
    RMSSD_HIGH,
    RMSSD_LOW,
    SPO2_HIGH,
    SPO2_LOW,
    Bools,
    Floats,
    midnight,
    rng,
)


@dataclass(frozen=True)
class Night:
    """One night's session and its per-minute SpO2/HRV and per-stage breathing points."""

    session: SleepSession
    spo2: tuple[Point, ...]
    hrv: tuple[Point, ...]
    breathing: tuple[Point, ...]


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
