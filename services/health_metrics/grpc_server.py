"""Thin translation between the fitness.health.v1 gRPC API and the health-metrics use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import grpc
from fitness.health.v1 import health_metrics_service_pb2 as pb
from fitness.health.v1 import health_metrics_service_pb2_grpc as pb_grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.grpc_runtime import Context, Dispatcher, StatusTable
from services.common.timeutil import parse_date
from services.health_metrics import domain, service
from services.health_metrics.domain import (
    SPECS,
    DailySummary,
    InvalidInput,
    Point,
    SleepSession,
    SleepStage,
    SleepSummary,
    StageSpan,
)
from services.health_metrics.metrics import HealthMetrics
from services.health_metrics.repository import Written
from services.health_metrics.service import HealthDeps
from services.health_metrics.validation import parse_stage

# The one table: every domain error the use cases raise, and its status.
STATUSES: StatusTable = {
    domain.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    domain.InvalidPageToken: grpc.StatusCode.INVALID_ARGUMENT,
    domain.StoreUnavailable: grpc.StatusCode.UNAVAILABLE,
}


class HealthMetricsServicer(pb_grpc.HealthMetricsServiceServicer):
    """Serves HealthMetricsService by calling the use cases through the dispatcher."""

    def __init__(self, deps: HealthDeps, dispatcher: Dispatcher, metrics: HealthMetrics):
        self.deps = deps
        self.dispatcher = dispatcher
        self.metrics = metrics

    async def WritePoints(  # noqa: N802 - gRPC method names are PascalCase
        self, request: pb.WritePointsRequest, context: Context
    ) -> pb.WritePointsResponse:
        """Upsert one metric's batch."""
        result = await self.dispatcher.run(context, self._write_points, request)
        self.metrics.written(request.metric, result)
        rejected = [pb.PointRejection(index=r.index, reason=r.reason) for r in result.rejected]
        # The API's accepted counts every point stored, the unchanged ones too.
        return pb.WritePointsResponse(
            accepted=result.accepted + result.unchanged,
            unchanged=result.unchanged,
            rejected=rejected,
        )

    async def DeletePoints(  # noqa: N802
        self, request: pb.DeletePointsRequest, context: Context
    ) -> pb.DeletePointsResponse:
        """Delete one metric's points over a range."""
        deleted = await self.dispatcher.run(context, self._delete_points, request)
        return pb.DeletePointsResponse(deleted=deleted)

    async def ReadSeries(  # noqa: N802
        self, request: pb.ReadSeriesRequest, context: Context
    ) -> pb.ReadSeriesResponse:
        """One page of a series."""
        page = await self.dispatcher.run(context, self._read_series, request)
        return pb.ReadSeriesResponse(
            metric=page.metric.value,
            unit=SPECS[page.metric].unit,
            resolution=page.resolution.value,
            points=[series_point_to_proto(p) for p in page.points],
            next_page_token=page.next_page_token,
        )

    async def WriteSleep(  # noqa: N802
        self, request: pb.WriteSleepRequest, context: Context
    ) -> pb.WriteSleepResponse:
        """Upsert sleep sessions."""
        written = await self.dispatcher.run(context, self._write_sleep, request)
        return pb.WriteSleepResponse(
            accepted=written.changed + written.unchanged, unchanged=written.unchanged
        )

    async def ReadSleep(  # noqa: N802
        self, request: pb.ReadSleepRequest, context: Context
    ) -> pb.ReadSleepResponse:
        """Sleep sessions ending in a range, with their minutes per stage."""
        summaries = await self.dispatcher.run(context, self._read_sleep, request)
        return pb.ReadSleepResponse(sessions=[sleep_summary_to_proto(s) for s in summaries])

    async def GetDailySummary(  # noqa: N802
        self, request: pb.GetDailySummaryRequest, context: Context
    ) -> pb.GetDailySummaryResponse:
        """One UTC day's summary."""
        summary = await self.dispatcher.run(context, self._daily_summary, request)
        return daily_summary_to_proto(summary)

    async def LinkSimulatedDevice(  # noqa: N802
        self, request: pb.LinkSimulatedDeviceRequest, context: Context
    ) -> pb.LinkSimulatedDeviceResponse:
        """Link a simulated device to the user (idempotent)."""
        created, through = await self.dispatcher.run(
            context, service.link_simulator, self.deps, request.user_id
        )
        return pb.LinkSimulatedDeviceResponse(
            created=created, ingested_through=through.isoformat() if through else ""
        )

    # The request translations below run on the worker thread with the use case, so a
    # malformed field is an InvalidInput mapped by the one table, like any other.
    def _write_points(self, request: pb.WritePointsRequest) -> domain.WriteResult:
        limit = self.deps.limits.max_points
        if len(request.points) > limit:
            raise InvalidInput(f"a batch holds 1 to {limit} points")
        points = [
            Point(time_of(p.time, f"points[{n}].time"), p.value)
            for n, p in enumerate(request.points)
        ]
        return service.write_points(self.deps, request.user_id, request.metric, points)

    def _delete_points(self, request: pb.DeletePointsRequest) -> int:
        start, end = range_of(request)
        return service.delete_points(self.deps, request.user_id, request.metric, start, end)

    def _read_series(self, request: pb.ReadSeriesRequest) -> domain.SeriesPage:
        start, end = range_of(request)
        return service.read_series(
            self.deps,
            request.user_id,
            request.metric,
            start,
            end,
            request.resolution,
            request.fill,
            request.page_size,
            request.page_token,
        )

    def _write_sleep(self, request: pb.WriteSleepRequest) -> Written:
        sessions = [session_of(s, f"sessions[{n}]") for n, s in enumerate(request.sessions)]
        return service.write_sleep(self.deps, request.user_id, sessions)

    def _read_sleep(self, request: pb.ReadSleepRequest) -> list[SleepSummary]:
        start, end = range_of(request)
        return service.read_sleep(self.deps, request.user_id, start, end)

    def _daily_summary(self, request: pb.GetDailySummaryRequest) -> DailySummary:
        return service.daily_summary(self.deps, request.user_id, day_of(request.day))


def time_of(stamp: Timestamp, name: str) -> datetime:
    """The aware UTC datetime of a Timestamp; InvalidInput outside years 1-9999."""
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{name} is not a valid timestamp") from None


def required_time(message: Message, field: str, name: str) -> datetime:
    """A Timestamp field that must be set (an unset one would read as 1970)."""
    if not message.HasField(field):
        raise InvalidInput(f"{name} is required")
    return time_of(getattr(message, field), name)


def range_of(
    request: pb.DeletePointsRequest | pb.ReadSeriesRequest | pb.ReadSleepRequest,
) -> tuple[datetime, datetime]:
    """The request's [from, to); the use case checks their order and span."""
    return required_time(request, "from", "from"), required_time(request, "to", "to")


def day_of(text: str) -> date:
    """A YYYY-MM-DD day."""
    try:
        return parse_date(text)
    except ValueError:
        raise InvalidInput(f"day is not a YYYY-MM-DD date: {text[:40]!r}") from None


def stage_of(span: pb.SleepStageSpan, name: str) -> StageSpan:
    """One stage span of a session."""
    try:
        stage = parse_stage(span.stage)
    except InvalidInput as error:
        raise InvalidInput(f"{name}.{error}") from None
    start = required_time(span, "start", f"{name}.start")
    return StageSpan(stage, start, required_time(span, "end", f"{name}.end"))


def session_of(session: pb.SleepSession, name: str) -> SleepSession:
    """One sleep session; the use case checks its stages' order and bounds."""
    stages = tuple(stage_of(s, f"{name}.stages[{n}]") for n, s in enumerate(session.stages))
    start = required_time(session, "start", f"{name}.start")
    return SleepSession(start, required_time(session, "end", f"{name}.end"), stages)


def series_point_to_proto(point: domain.SeriesPoint) -> pb.SeriesPoint:
    """The proto of one series point."""
    return pb.SeriesPoint(
        time=point.time,
        value=point.value,
        min=point.low,
        max=point.high,
        count=point.count,
        imputed=point.imputed,
    )


def session_to_proto(session: SleepSession) -> pb.SleepSession:
    """The proto of one sleep session."""
    stages = [
        pb.SleepStageSpan(stage=s.stage.value, start=s.start, end=s.end) for s in session.stages
    ]
    return pb.SleepSession(start=session.start, end=session.end, stages=stages)


def stage_minutes(minutes: dict[SleepStage, float]) -> Sequence[pb.StageMinutes]:
    """Minutes per stage, every stage listed (0 for one the sleep never reached)."""
    return [pb.StageMinutes(stage=s.value, minutes=minutes.get(s, 0.0)) for s in SleepStage]


def sleep_summary_to_proto(summary: SleepSummary) -> pb.SleepSummary:
    """The proto of a session with its per-stage minutes."""
    return pb.SleepSummary(
        session=session_to_proto(summary.session),
        night=summary.session.night.isoformat(),
        minutes=stage_minutes(summary.minutes),
        asleep_minutes=summary.asleep_minutes,
    )


def optional(value: float | None) -> pb.OptionalValue:
    """A value that may be missing."""
    return pb.OptionalValue() if value is None else pb.OptionalValue(present=True, value=value)


def daily_summary_to_proto(summary: DailySummary) -> pb.GetDailySummaryResponse:
    """The proto of one day's summary."""
    return pb.GetDailySummaryResponse(
        day=summary.day.isoformat(),
        resting_heart_rate=optional(summary.resting_heart_rate),
        steps=optional(summary.steps),
        active_zone_minutes=optional(summary.active_zone_minutes),
        spo2_mean=optional(summary.spo2_mean),
        hrv_mean=optional(summary.hrv_mean),
        breathing_rate_mean=optional(summary.breathing_rate_mean),
        sleep_minutes=stage_minutes(summary.sleep_minutes),
    )
