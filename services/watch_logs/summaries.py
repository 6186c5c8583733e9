"""What one entry adds to its user's daily summary, and a summary from its counters. Pure.

The reporting consumer group keeps one Redis hash per user and day with these counters;
its script adds an entry's increments only when that entry's XACK succeeds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from services.watch_logs import entries
from services.watch_logs.domain import ACTIVE_ACTIVITIES, DailySummary

# Integer counters (HINCRBY), float counters (HINCRBYFLOAT); hr_max is kept by comparison.
INT_COUNTERS = ("samples", "steps", "floors", "active_seconds", "hr_sum", "hr_count")
FLOAT_COUNTERS = ("calories", "distance_m")
_MAX_COUNT = 2**31  # far above any valid sample (validation's bounds), far below overflow


@dataclass(frozen=True)
class Increment:
    """What one entry adds to the summary of ``user_id``'s ``day``."""

    user_id: str
    day: date
    samples: int
    steps: int
    floors: int
    active_seconds: int
    hr_sum: int
    hr_count: int
    calories: float
    distance_m: float
    hr_max: int

    def script_args(self) -> list[str]:
        """Counter values in INT_COUNTERS, FLOAT_COUNTERS order, then hr_max."""
        ints = [self.samples, self.steps, self.floors, self.active_seconds]
        ints += [self.hr_sum, self.hr_count]
        return [*map(str, ints), repr(self.calories), repr(self.distance_m), str(self.hr_max)]


def increment(fields: Mapping[str, str]) -> Increment:
    """The increments of one stream entry; ValueError if the entry cannot be read (poison)."""
    user_id, log = entries.decode(fields)
    counts = (log.duration_s, log.steps, log.heart_rate, log.floors)
    amounts = (log.calories, log.distance_m)
    # Out of range, a value would make the counting script fail midway through a batch.
    if not all(0 <= n < _MAX_COUNT for n in counts) or not all(
        math.isfinite(x) and 0 <= x < _MAX_COUNT for x in amounts
    ):
        raise ValueError("a counter is negative or too large")
    measured = log.heart_rate > 0
    return Increment(
        user_id=user_id,
        day=log.timestamp.date(),
        samples=1,
        steps=log.steps,
        floors=log.floors,
        active_seconds=log.duration_s if log.activity in ACTIVE_ACTIVITIES else 0,
        hr_sum=log.heart_rate if measured else 0,
        hr_count=1 if measured else 0,
        calories=log.calories,
        distance_m=log.distance_m,
        hr_max=log.heart_rate,
    )


def summary(day: date, counters: Mapping[str, str]) -> DailySummary:
    """The DailySummary a day's hash of counters describes."""
    hr_count = int(counters.get("hr_count", 0))
    return DailySummary(
        day=day,
        samples=int(counters.get("samples", 0)),
        steps=int(counters.get("steps", 0)),
        active_minutes=int(counters.get("active_seconds", 0)) / 60,
        calories=float(counters.get("calories", 0)),
        distance_m=float(counters.get("distance_m", 0)),
        floors=int(counters.get("floors", 0)),
        mean_heart_rate=int(counters.get("hr_sum", 0)) / hr_count if hr_count else 0.0,
        max_heart_rate=int(counters.get("hr_max", 0)),
    )


def add(counters: dict[str, str], step: Increment) -> None:
    """Apply an increment to counters held in memory (the fake store does what the script does)."""
    values = dict(zip((*INT_COUNTERS, *FLOAT_COUNTERS, "hr_max"), step.script_args(), strict=True))
    for name in INT_COUNTERS:
        counters[name] = str(int(counters.get(name, "0")) + int(values[name]))
    for name in FLOAT_COUNTERS:
        counters[name] = repr(float(counters.get(name, "0")) + float(values[name]))
    counters["hr_max"] = str(max(int(counters.get("hr_max", "0")), step.hr_max))
