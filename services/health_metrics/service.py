"""Health-metrics use cases: write and delete points, read series and summaries, sleep."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from services.common.timeutil import utc_now
from services.health_metrics import summary, tokens, validation
from services.health_metrics.domain import (
    BUCKET,
    DailySummary,
    Fill,
    InvalidInput,
    Metric,
    Point,
    Resolution,
    SeriesPage,
    SeriesPoint,
    SleepSession,
    SleepSummary,
    WriteResult,
)
from services.health_metrics.fill import MAX_FILL_GAP, cut_page, filled
from services.health_metrics.repository import HealthStore, RefreshReport, Written
from services.health_metrics.tokens import SeriesQuery

DAY_MINUTES = 24 * 60
# The metrics a summary shows a day total or mean of (heart rate: its resting rate).
DAY_METRICS = (
    Metric.STEPS,
    Metric.ACTIVE_ZONE_MINUTES,
    Metric.SPO2,
    Metric.HRV,
    Metric.BREATHING_RATE,
)


@dataclass(frozen=True)
class Limits:
    """What one call may carry."""

    max_points: int = 10_000
    max_clock_skew: timedelta = timedelta(minutes=5)
    # Points a series page holds at most, imputed ones included: 10,000 real minutes could
    # otherwise carry 600,000 imputed ones. The next page continues the gap.
    max_page_points: int = 20_000


@dataclass(frozen=True)
class HealthDeps:
    """What the use cases need; ``clock`` gives the aware UTC now."""

    store: HealthStore
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], datetime] = utc_now


def _window(deps: HealthDeps) -> validation.Window:
    """The times accepted now."""
    return validation.Window(deps.clock(), deps.limits.max_clock_skew)


def write_points(
    deps: HealthDeps, user_id: str, metric: str, points: Sequence[Point]
) -> WriteResult:
    """Upsert the batch's valid points; the others are refused one by one."""
    validation.check_user_id(user_id)
    parsed = validation.parse_metric(metric)
    validation.check_batch(points, deps.limits.max_points)
    rejected = validation.rejections(parsed, points, _window(deps))
    refused = {rejection.index for rejection in rejected}
    valid = [
        Point(point.time.astimezone(UTC), float(point.value))
        for index, point in enumerate(points)
        if index not in refused
    ]
    written = deps.store.write_points(user_id, parsed, valid) if valid else Written(0, 0)
    return WriteResult(written.changed, written.unchanged, tuple(rejected))


def delete_points(
    deps: HealthDeps, user_id: str, metric: str, start: datetime, end: datetime
) -> int:
    """Delete the metric's points in ``[start, end)``; how many there were."""
    validation.check_user_id(user_id)
    parsed = validation.parse_metric(metric)
    return deps.store.delete_points(user_id, parsed, *validation.check_range(start, end))


def read_series(
    deps: HealthDeps,
    user_id: str,
    metric: str,
    start: datetime,
    end: datetime,
    resolution: str,
    fill: str,
    page_size: int,
    page_token: str,
) -> SeriesPage:
    """One page of the series, oldest first: at most ``page_size`` real points, with the
    gaps between them (and up to the next page's first point) filled when asked."""
    query = _series_query(user_id, metric, start, end, resolution, fill)
    size = validation.page_size_of(page_size)
    after = tokens.decode(query, page_token)
    if query.resolution is Resolution.RAW:
        points, more = _raw_page(deps.store, query, after, size)
    else:
        points, more = _bucket_page(deps, query, after, size)
    token = tokens.encode(query, points[-1].time) if more else ""
    return SeriesPage(query.metric, query.resolution, tuple(points), token)


def _series_query(
    user_id: str, metric: str, start: datetime, end: datetime, resolution: str, fill: str
) -> SeriesQuery:
    """The read's arguments, checked."""
    validation.check_user_id(user_id)
    parsed_metric = validation.parse_metric(metric)
    parsed_resolution = validation.parse_resolution(resolution)
    parsed_fill = validation.parse_fill(fill)
    if parsed_resolution is Resolution.RAW and parsed_fill is Fill.LINEAR:
        raise InvalidInput("fill=linear needs a resolution of 1m, 1h or 1d")
    first, last = validation.check_range(start, end)
    return SeriesQuery(user_id, parsed_metric, parsed_resolution, parsed_fill, first, last)


def _raw_page(
    store: HealthStore, query: SeriesQuery, after: datetime | None, size: int
) -> tuple[list[SeriesPoint], bool]:
    """Up to ``size`` stored points after ``after``, and whether more follow."""
    found = store.read_points(query.user_id, query.metric, query.start, query.end, after, size + 1)
    points = [SeriesPoint(p.time, p.value, p.value, p.value, 1, False) for p in found]
    return cut_page(points, after, size, size)


def _bucket_page(
    deps: HealthDeps, query: SeriesQuery, after: datetime | None, size: int
) -> tuple[list[SeriesPoint], bool]:
    """Up to ``size`` buckets after ``after``, gaps filled when asked, and whether more follow."""
    store = deps.store
    found = store.read_rollups(
        query.user_id, query.metric, query.resolution, query.start, query.end, after, size + 1
    )
    real = [summary.series_point(query.metric, rollup) for rollup in found]
    if query.fill is Fill.NONE:
        return cut_page(real, after, size, size)
    step = BUCKET[query.resolution]
    left = None if after is None else _left_neighbour(store, query, after)
    series = filled(left, real, step, MAX_FILL_GAP[query.resolution])
    return cut_page(series, after, size, deps.limits.max_page_points)


def _left_neighbour(store: HealthStore, query: SeriesQuery, after: datetime) -> SeriesPoint | None:
    """The last bucket at or before ``after`` within the range: where a gap the previous
    page ended in began (no point before the range's first bucket is ever imputed)."""
    step = BUCKET[query.resolution]
    found = store.rollup_before(query.user_id, query.metric, query.resolution, after + step)
    if found is None or found.start < query.start:
        return None
    return summary.series_point(query.metric, found)


def write_sleep(deps: HealthDeps, user_id: str, sessions: Sequence[SleepSession]) -> Written:
    """Upsert the sessions by start (a session sent again with a new shape replaces it)."""
    validation.check_user_id(user_id)
    validation.check_sessions(sessions, _window(deps))
    return deps.store.write_sleep(user_id, sessions)


def read_sleep(
    deps: HealthDeps, user_id: str, start: datetime, end: datetime
) -> list[SleepSummary]:
    """The sessions ending in ``[start, end)``, oldest first, with minutes per stage."""
    validation.check_user_id(user_id)
    found = deps.store.read_sleep(user_id, *validation.check_range(start, end))
    return [summary.sleep_summary(session) for session in found]


def daily_summary(deps: HealthDeps, user_id: str, day: date) -> DailySummary:
    """The UTC day's resting heart rate, totals, means and sleep (as of the last refresh)."""
    validation.check_user_id(user_id)
    validation.check_day(day, deps.clock())
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    store = deps.store
    heart = store.read_rollups(
        user_id, Metric.HEART_RATE, Resolution.MINUTE, start, end, None, DAY_MINUTES
    )
    days = {}
    for metric in DAY_METRICS:
        found = store.read_rollups(user_id, metric, Resolution.DAY, start, end, None, 1)
        if found:
            days[metric] = found[0]
    return summary.daily_summary(day, heart, days, store.read_sleep(user_id, start, end))


def link_simulator(deps: HealthDeps, user_id: str) -> tuple[bool, date | None]:
    """Link a simulated device to the user: (whether this call linked it, the last day ingested)."""
    validation.check_user_id(user_id)
    created = deps.store.link_simulator(user_id)
    return created, deps.store.ingested_through(user_id)


def refresh_rollups(deps: HealthDeps, max_minutes: int) -> RefreshReport:
    """Recompute the rollups of up to ``max_minutes`` dirty minutes (the refresh loop's step)."""
    if max_minutes < 1:
        raise InvalidInput("max_minutes must be at least 1")
    return deps.store.refresh(max_minutes)
