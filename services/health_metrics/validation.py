"""Which health data the service takes: names, user ids, points, sleep sessions, ranges.

Whole-request problems raise InvalidInput; a point's own problem is a PointRejection,
so the rest of its batch is still stored.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from services.common.text import describe, unsafe_character
from services.health_metrics.domain import (
    SPECS,
    Fill,
    InvalidInput,
    Metric,
    Point,
    PointRejection,
    Resolution,
    SleepOverlap,
    SleepSession,
    SleepStage,
    StageSpan,
)

USER_ID_MAX = 64
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# A range ends by then, so a bucket after its last one is still a datetime.
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
MAX_RANGE = timedelta(days=400)
# One batch is one transaction of the store only while it touches at most 32 daily
# partitions (each holds locks to the end of it); the bound also keeps a client from
# creating thousands of partitions in one call.
MAX_BATCH_DAYS = 31
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000
MAX_SESSIONS = 31
MAX_STAGES = 500
MAX_SESSION = timedelta(hours=24)

E = TypeVar("E", bound=StrEnum)


def _parse(kind: type[E], field: str, name: str) -> E:
    """The member of ``kind`` called ``name``, else InvalidInput listing the choices."""
    try:
        return kind(name)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidInput(f"{field} must be one of {choices}") from None


def parse_metric(name: str) -> Metric:
    """The metric called ``name``."""
    return _parse(Metric, "metric", name)


def parse_resolution(name: str) -> Resolution:
    """The resolution called ``name`` (raw, 1m, 1h, 1d)."""
    return _parse(Resolution, "resolution", name)


def parse_fill(name: str) -> Fill:
    """The fill called ``name`` (none, linear)."""
    return _parse(Fill, "fill", name)


def parse_stage(name: str) -> SleepStage:
    """The sleep stage called ``name``."""
    return _parse(SleepStage, "stage", name)


def check_user_id(user_id: str) -> str:
    """The user id if it is 1-64 characters of valid Unicode without controls."""
    if not 1 <= len(user_id) <= USER_ID_MAX:
        raise InvalidInput(f"user_id must be 1-{USER_ID_MAX} characters")
    bad = unsafe_character(user_id)
    if bad is not None:
        raise InvalidInput(f"user_id holds the character {describe(bad)}")
    return user_id


@dataclass(frozen=True)
class Window:
    """The times accepted at ``now``: from 2000-01-01 to ``max_skew`` ahead of now."""

    now: datetime
    max_skew: timedelta

    def problem(self, moment: datetime) -> str | None:
        """Why ``moment`` is refused, or None."""
        if moment.tzinfo is None:
            return "time needs a timezone"
        if moment < EARLIEST:
            return "time is before 2000-01-01"
        if moment > self.now + self.max_skew:
            return f"time is more than {self.max_skew.total_seconds():g} s in the future"
        return None


def check_batch(points: Sequence[Point], max_points: int) -> None:
    """A batch holds 1 to ``max_points`` points of at most MAX_BATCH_DAYS distinct UTC days, no two
    at the same instant."""
    if not 1 <= len(points) <= max_points:
        raise InvalidInput(f"a batch holds 1 to {max_points} points")
    days = {p.time.astimezone(UTC).date() for p in points if p.time.tzinfo is not None}
    if len(days) > MAX_BATCH_DAYS:
        raise InvalidInput(f"a batch holds points of at most {MAX_BATCH_DAYS} distinct UTC days")
    seen: dict[datetime, int] = {}
    for index, point in enumerate(points):
        first = seen.setdefault(point.time, index)
        if first != index:
            raise InvalidInput(f"points[{index}] has the time of points[{first}]")


def point_problem(metric: Metric, point: Point, window: Window) -> str | None:
    """Why the point is refused, or None when it may be stored."""
    return window.problem(point.time) or _value_problem(metric, point.value)


def _value_problem(metric: Metric, value: float) -> str | None:
    """Why the value is no value of the metric, or None."""
    spec = SPECS[metric]
    if not (math.isfinite(value) and spec.low <= value <= spec.high):
        return f"value must be a number from {spec.low:g} to {spec.high:g} {spec.unit}"
    return None


def rejections(metric: Metric, points: Sequence[Point], window: Window) -> list[PointRejection]:
    """Why each refused point of the batch is refused, by index."""
    found = ((i, point_problem(metric, point, window)) for i, point in enumerate(points))
    return [PointRejection(i, reason) for i, reason in found if reason is not None]


def check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC if it is non-empty and spans at most 400 days."""
    for name, moment in (("from", start), ("to", end)):
        if moment.tzinfo is None:
            raise InvalidInput(f"{name} needs a timezone")
        if moment > LATEST:
            raise InvalidInput(f"{name} must be before {LATEST.year}")
    if end <= start:
        raise InvalidInput("from must be before to")
    if end - start > MAX_RANGE:
        raise InvalidInput(f"a range spans at most {MAX_RANGE.days} days")
    return start.astimezone(UTC), end.astimezone(UTC)


def check_day(day: date, now: datetime) -> date:
    """A day from 2000-01-01 to tomorrow (UTC), the days a summary can have data of."""
    if not EARLIEST.date() <= day <= (now + timedelta(days=1)).date():
        raise InvalidInput("day must be from 2000-01-01 to tomorrow")
    return day


def page_size_of(page_size: int) -> int:
    """1-10,000 real points; 0 means the default 1,000."""
    if not 0 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be from 1 to {MAX_PAGE_SIZE} (0: {DEFAULT_PAGE_SIZE})")
    return page_size or DEFAULT_PAGE_SIZE


def check_sessions(sessions: Sequence[SleepSession], window: Window) -> None:
    """1-31 sessions with distinct starts, each valid (else InvalidInput naming it)."""
    if not 1 <= len(sessions) <= MAX_SESSIONS:
        raise InvalidInput(f"a call holds 1 to {MAX_SESSIONS} sleep sessions")
    starts: dict[datetime, int] = {}
    for index, session in enumerate(sessions):
        problem = session_problem(session, window)
        if problem is not None:
            raise InvalidInput(f"sessions[{index}]: {problem}")
        first = starts.setdefault(session.start, index)
        if first != index:
            raise InvalidInput(f"sessions[{index}] has the start of sessions[{first}]")
    _check_apart(sessions)


def _check_apart(sessions: Sequence[SleepSession]) -> None:
    """No two sessions of a call overlap (one sleeps once at a time)."""
    ordered = sorted(range(len(sessions)), key=lambda i: sessions[i].start)
    for before, after in itertools.pairwise(ordered):
        if sessions[after].start < sessions[before].end:
            raise SleepOverlap(f"sessions[{after}] overlaps sessions[{before}]")


def session_problem(session: SleepSession, window: Window) -> str | None:
    """Why a sleep session is refused, or None."""
    bad_time = window.problem(session.start) or window.problem(session.end)
    if bad_time is not None:
        return bad_time
    if session.end <= session.start:
        return "start must be before end"
    if session.end - session.start > MAX_SESSION:
        return "a session lasts at most 24 h"
    if not 1 <= len(session.stages) <= MAX_STAGES:
        return f"a session holds 1 to {MAX_STAGES} stages"
    return _stages_problem(session)


def _stages_problem(session: SleepSession) -> str | None:
    """Why the stages are not in order within their session, or None."""
    previous_end = session.start
    for index, span in enumerate(session.stages):
        problem = _span_problem(span, previous_end, session.end)
        if problem is not None:
            return f"stages[{index}]: {problem}"
        previous_end = span.end
    return None


def _span_problem(span: StageSpan, earliest: datetime, latest: datetime) -> str | None:
    """Why the stage does not lie within [earliest, latest], or None."""
    if not isinstance(span.stage, SleepStage):
        return "stage must be a sleep stage"
    if span.start.tzinfo is None or span.end.tzinfo is None:
        return "times need a timezone"
    if span.end <= span.start:
        return "start must be before end"
    if span.start < earliest or span.end > latest:
        return "stages lie within their session, in time order, without overlapping"
    return None
