"""Intraday health metrics: points a device or app sends, the rollups kept from them,
sleep sessions, and the domain errors. Times are timezone-aware UTC datetimes; minute,
hour and day buckets are UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from services.common.dependency import DependencyUnavailable


class Metric(StrEnum):
    """A point series one user has per metric."""

    HEART_RATE = "heart_rate"
    SPO2 = "spo2"
    STEPS = "steps"
    ACTIVE_ZONE_MINUTES = "active_zone_minutes"
    BREATHING_RATE = "breathing_rate"
    HRV = "hrv"


@dataclass(frozen=True)
class MetricSpec:
    """The unit of a metric, the values a point may hold, and whether its values add up."""

    unit: str
    low: float
    high: float
    # Steps and zone minutes add up over a bucket; a heart rate's sum means nothing.
    additive: bool


SPECS: dict[Metric, MetricSpec] = {
    Metric.HEART_RATE: MetricSpec("bpm", 20, 250, additive=False),
    Metric.SPO2: MetricSpec("%", 50, 100, additive=False),
    Metric.STEPS: MetricSpec("steps", 0, 1000, additive=True),
    Metric.ACTIVE_ZONE_MINUTES: MetricSpec("minutes", 0, 3, additive=True),
    Metric.BREATHING_RATE: MetricSpec("breaths/min", 4, 60, additive=False),
    Metric.HRV: MetricSpec("ms", 1, 300, additive=False),
}


class Resolution(StrEnum):
    """What one point of a read series is: a stored point, or a 1-minute/hour/day rollup."""

    RAW = "raw"
    MINUTE = "1m"
    HOUR = "1h"
    DAY = "1d"


BUCKET: dict[Resolution, timedelta] = {
    Resolution.MINUTE: timedelta(minutes=1),
    Resolution.HOUR: timedelta(hours=1),
    Resolution.DAY: timedelta(days=1),
}


class Fill(StrEnum):
    """How a read series treats missing buckets."""

    NONE = "none"
    LINEAR = "linear"


class SleepStage(StrEnum):
    """A stage of a sleep session."""

    DEEP = "deep"
    LIGHT = "light"
    REM = "rem"
    WAKE = "wake"


class InvalidInput(ValueError):
    """A request the service refuses as malformed (INVALID_ARGUMENT)."""


class InvalidPageToken(InvalidInput):
    """A page token this query did not make (forged, truncated, or another query's)."""


class SleepOverlap(InvalidInput):
    """A session overlaps a stored session of another start (one sleeps once at a time)."""


class TooMuchSleep(InvalidInput):
    """A sleep read would return more stages than one answer holds: narrow the range."""


class StoreUnavailable(DependencyUnavailable):
    """The database did not answer (UNAVAILABLE with the dependency trailer)."""


@dataclass(frozen=True)
class Point:
    """One stored value of one metric at one instant."""

    time: datetime
    value: float


@dataclass(frozen=True)
class PointRejection:
    """Why one point of a batch was not stored; ``index`` is its position in the batch."""

    index: int
    reason: str


@dataclass(frozen=True)
class WriteResult:
    """What a batch did: points stored or corrected, points that changed nothing, refusals."""

    accepted: int
    unchanged: int
    rejected: tuple[PointRejection, ...]


@dataclass(frozen=True)
class Rollup:
    """One bucket of a metric: its start and the aggregates of the points in it.

    ``total`` is the sum of the values (None for a non-additive metric's API answers;
    always kept by the store, since means of buckets are derived from it).
    """

    start: datetime
    low: float
    high: float
    total: float
    count: int

    @property
    def mean(self) -> float:
        """The mean of the bucket's points."""
        return self.total / self.count


@dataclass(frozen=True)
class SeriesPoint:
    """One point of a read series: a stored point, a rollup, or an interpolated value."""

    time: datetime
    value: float
    low: float
    high: float
    count: int
    imputed: bool


@dataclass(frozen=True)
class SeriesPage:
    """One page of a series, and the token of the next (empty on the last page)."""

    metric: Metric
    resolution: Resolution
    points: tuple[SeriesPoint, ...]
    next_page_token: str


@dataclass(frozen=True)
class StageSpan:
    """One stretch of one sleep stage."""

    stage: SleepStage
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SleepSession:
    """One sleep, from falling asleep to waking, with its stages in time order.

    A session is keyed by (user, start): a session sent again with the same start
    replaces the stored one (a correction); the same one again changes nothing.
    """

    start: datetime
    end: datetime
    stages: tuple[StageSpan, ...]

    @property
    def night(self) -> date:
        """The night a session counts for: the UTC date it ends on."""
        return self.end.date()


@dataclass(frozen=True)
class SleepSummary:
    """A session with the minutes it spent in each stage."""

    session: SleepSession
    minutes: dict[SleepStage, float]

    @property
    def asleep_minutes(self) -> float:
        """Minutes in any stage but wake."""
        return sum(m for stage, m in self.minutes.items() if stage is not SleepStage.WAKE)


@dataclass(frozen=True)
class DailySummary:
    """One user's UTC day: None where the day has no data of that kind."""

    day: date
    resting_heart_rate: float | None
    steps: float | None
    active_zone_minutes: float | None
    spo2_mean: float | None
    hrv_mean: float | None
    breathing_rate_mean: float | None
    sleep_minutes: dict[SleepStage, float]
