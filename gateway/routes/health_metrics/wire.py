"""What the health-metrics routes share: checked time ranges, protobuf times, stage minutes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fitness.health.v1 import health_metrics_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.edge.errors import ApiError
from gateway.routes.schemas.health import StageMinutes
from services.common.timeutil import format_time, parse_time, utc_now
from services.health_metrics.domain import SleepStage
from services.health_metrics.validation import MAX_RANGE


@dataclass(frozen=True)
class Span:
    """A read's or delete's [from, to), checked, with its defaults filled in."""

    start: datetime
    end: datetime


def span_of(from_time: str | None, to_time: str | None, default: timedelta) -> Span:
    """The range of a read: to defaults to now, from to ``default`` before to."""
    end = parse_time(to_time) if to_time else utc_now()
    if from_time is None and end - datetime.min.replace(tzinfo=UTC) < default:
        raise ApiError(422, "to is out of range")
    return checked(parse_time(from_time) if from_time else end - default, end)


def checked(start: datetime, end: datetime) -> Span:
    """[start, end) if start is before end, at most 400 days apart (else 422)."""
    if start >= end:
        raise ApiError(422, "from must be before to")
    if end - start > MAX_RANGE:
        raise ApiError(422, "from and to may be at most 400 days apart")
    return Span(start, end)


def text_of(message: Timestamp) -> str:
    """A protobuf Timestamp as RFC 3339 UTC: milliseconds, or microseconds when it has them."""
    moment = message.ToDatetime(tzinfo=UTC)
    if moment.microsecond % 1000:
        return moment.isoformat().replace("+00:00", "Z")
    return format_time(moment)


def stage_minutes(rows: Iterable[pb.StageMinutes]) -> StageMinutes:
    """Minutes per stage, every stage present (0 where the service named none)."""
    minutes = {stage.value: 0.0 for stage in SleepStage}
    for row in rows:
        if row.stage in minutes:
            minutes[row.stage] += row.minutes
    return StageMinutes(**minutes)
