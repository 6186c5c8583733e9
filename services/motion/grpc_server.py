"""Thin translation between the fitness.motion.v1 gRPC API and the motion use cases."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import grpc
from fitness.motion.v1 import motion_service_pb2 as pb
from fitness.motion.v1 import motion_service_pb2_grpc as pb_grpc

from services.common.grpc_runtime import Context, Dispatcher, StatusTable
from services.common.page_tokens import (
    Cursor,
    InvalidPageToken,
    decode_page_token,
    encode_page_token,
)
from services.common.timeutil import format_time, parse_time
from services.motion import domain, service
from services.motion.domain import Activity, InvalidInput, NothingToStore, RecordCursor
from services.motion.metrics import MotionMetrics
from services.motion.service import DeviceRef, MotionDeps
from services.motion.validation import ID_MAX

STATUSES: StatusTable = {
    domain.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    domain.DeviceOwnedByAnother: grpc.StatusCode.PERMISSION_DENIED,
    domain.DeviceNotFound: grpc.StatusCode.NOT_FOUND,
    domain.TooManyDevices: grpc.StatusCode.RESOURCE_EXHAUSTED,
    domain.StoreUnavailable: grpc.StatusCode.UNAVAILABLE,
}
ACTIVITIES = {
    Activity.UNKNOWN: pb.ACTIVITY_UNKNOWN,
    Activity.STATIONARY: pb.ACTIVITY_STATIONARY,
    Activity.WALKING: pb.ACTIVITY_WALKING,
    Activity.RUNNING: pb.ACTIVITY_RUNNING,
}
# The id part of a timeline token (its time is where the next page starts).
TIMELINE_TOKEN_ID = "timeline"
# A window key is "<session id>/<start ms>".
MAX_WINDOW_KEY = ID_MAX + 1 + 20


class MotionServicer(pb_grpc.MotionServiceServicer):
    """Serves MotionService by calling the use cases through the dispatcher."""

    def __init__(self, deps: MotionDeps, dispatcher: Dispatcher, metrics: MotionMetrics):
        self.deps = deps
        self.dispatcher = dispatcher
        self.metrics = metrics

    async def IngestSensorData(  # noqa: N802 - gRPC method names are PascalCase
        self, request: pb.IngestSensorDataRequest, context: Context
    ) -> pb.IngestSensorDataResponse:
        """Store one message."""
        started = time.perf_counter()
        result = await self.dispatcher.run(context, self._ingest, request)
        self.metrics.message_seconds.observe(time.perf_counter() - started)
        self.metrics.ingested(result)
        rejected = [pb.ReadingRejection(index=r.index, reason=r.reason) for r in result.rejected]
        return pb.IngestSensorDataResponse(
            accepted=result.accepted, duplicate=result.duplicate, rejected=rejected
        )

    async def ListDevices(  # noqa: N802
        self, request: pb.ListDevicesRequest, context: Context
    ) -> pb.ListDevicesResponse:
        """The caller's devices."""
        devices = await self.dispatcher.run(
            context, service.list_devices, self.deps, request.user_id
        )
        return pb.ListDevicesResponse(
            devices=[
                pb.Device(
                    device_id=d.device_id, user_id=d.user_id, first_seen=_time(d.first_seen_ms)
                )
                for d in devices
            ]
        )

    async def GetCurrentActivity(  # noqa: N802
        self, request: pb.GetCurrentActivityRequest, context: Context
    ) -> pb.GetCurrentActivityResponse:
        """The device's latest activity."""
        ref = ref_of(request.device)
        state = await self.dispatcher.run(context, service.current_activity, self.deps, ref)
        if state is None:
            return pb.GetCurrentActivityResponse(device_id=ref.device_id)
        return pb.GetCurrentActivityResponse(
            device_id=ref.device_id,
            activity=ACTIVITIES[state.activity],
            confidence=state.confidence,
            since=_time(state.since_ms),
            window_end=_time(state.window_end_ms),
        )

    async def GetActivityTimeline(  # noqa: N802
        self, request: pb.GetActivityTimelineRequest, context: Context
    ) -> pb.GetActivityTimelineResponse:
        """One page of segments."""
        page = await self.dispatcher.run(context, self._timeline, request)
        token = "" if page.resume_ms is None else timeline_token(page.resume_ms)
        return pb.GetActivityTimelineResponse(
            segments=[
                pb.ActivitySegment(
                    activity=ACTIVITIES[s.activity],
                    start=_time(s.start_ms),
                    end=_time(s.end_ms),
                    confidence=s.confidence,
                )
                for s in page.segments
            ],
            next_page_token=token,
        )

    async def GetActivityDistribution(  # noqa: N802
        self, request: pb.GetActivityDistributionRequest, context: Context
    ) -> pb.GetActivityDistributionResponse:
        """Seconds per activity."""
        seconds = await self.dispatcher.run(context, self._distribution, request)
        return pb.GetActivityDistributionResponse(
            shares=[
                pb.ActivityShare(activity=ACTIVITIES[activity], seconds=spent)
                for activity, spent in seconds.items()
            ]
        )

    async def ListActivityRecords(  # noqa: N802
        self, request: pb.ListActivityRecordsRequest, context: Context
    ) -> pb.ListActivityRecordsResponse:
        """One page of processed records."""
        found, cursor = await self.dispatcher.run(context, self._records, request)
        token = "" if cursor is None else record_token(cursor)
        return pb.ListActivityRecordsResponse(
            records=[record_to_proto(r) for r in found], next_page_token=token
        )

    # The request translations below run on the worker thread with the use case, so a
    # malformed field is an InvalidInput mapped by the one table, like any other.
    def _ingest(self, request: pb.IngestSensorDataRequest) -> domain.IngestResult:
        if len(request.readings) > self.deps.limits.max_readings:
            raise InvalidInput(f"a message holds 1 to {self.deps.limits.max_readings} readings")
        readings = tuple(
            domain.Reading(r.name, r.timestamp_ms, tuple(r.values)) for r in request.readings
        )
        message = domain.SensorMessage(
            request.user_id, request.device_id, request.session_id, request.message_id, readings
        )
        try:
            return service.ingest(self.deps, message)
        except NothingToStore as refused:
            return domain.IngestResult(0, False, refused.rejected)

    def _timeline(self, request: pb.GetActivityTimelineRequest) -> service.TimelinePage:
        span = self._range(request.range)
        resume = timeline_resume(request.page_token)
        ref = ref_of(request.device)
        return service.activity_timeline(self.deps, ref, span, request.page_size, resume)

    def _distribution(self, request: pb.GetActivityDistributionRequest) -> dict[Activity, float]:
        span = self._range(request.range)
        return service.activity_distribution(self.deps, ref_of(request.device), span)

    def _records(
        self, request: pb.ListActivityRecordsRequest
    ) -> tuple[list[domain.ActivityRecord], RecordCursor | None]:
        span = self._range(request.range)
        after = record_cursor(request.page_token)
        ref = ref_of(request.device)
        return service.activity_records(self.deps, ref, span, request.page_size, after)

    def _range(self, span: pb.TimeRange) -> domain.TimeRange:
        start = _millis_of(span.from_time, "from_time")
        end = _millis_of(span.to_time, "to_time")
        return service.time_range(self.deps, start, end)


def ref_of(ref: pb.DeviceRef) -> DeviceRef:
    """Who reads which device."""
    return DeviceRef(ref.user_id, ref.device_id, ref.any_owner)


def record_to_proto(record: domain.ActivityRecord) -> pb.ActivityRecord:
    """The proto of a processed record."""
    f = record.features
    return pb.ActivityRecord(
        window_key=record.window_key,
        message_id=record.message_id,
        session_id=record.session_id,
        device_id=record.device_id,
        window_start=_time(record.window_start_ms),
        window_end=_time(record.window_end_ms),
        magnitude=f.magnitude,
        dynamic_rms=f.dynamic_rms,
        cadence_hz=f.cadence_hz,
        rate_hz=f.rate_hz,
        samples=f.samples,
        activity=ACTIVITIES[record.activity],
        confidence=record.confidence,
    )


def timeline_token(resume_ms: int) -> str:
    """The token of a timeline page starting at ``resume_ms``."""
    return encode_page_token(Cursor(_datetime(resume_ms), TIMELINE_TOKEN_ID))


def timeline_resume(token: str) -> int | None:
    """Where the page a timeline token names starts; None for the first page."""
    cursor = _cursor(token)
    if cursor is None:
        return None
    if cursor.id != TIMELINE_TOKEN_ID:
        raise InvalidInput("page_token is not one this service issued")
    return _millis(cursor.time)


def record_token(cursor: RecordCursor) -> str:
    """The token of the records page after ``cursor``."""
    return encode_page_token(Cursor(_datetime(cursor.window_end_ms), cursor.window_key))


def record_cursor(token: str) -> RecordCursor | None:
    """The cursor a records token names; None for the first page."""
    cursor = _cursor(token)
    if cursor is None:
        return None
    if not 0 < len(cursor.id) <= MAX_WINDOW_KEY or cursor.id == TIMELINE_TOKEN_ID:
        raise InvalidInput("page_token is not one this service issued")
    return RecordCursor(_millis(cursor.time), cursor.id)


def _cursor(token: str) -> Cursor | None:
    try:
        cursor = decode_page_token(token)
    except InvalidPageToken:
        raise InvalidInput("page_token is not one this service issued") from None
    if cursor is not None and cursor.time.tzinfo is None:
        raise InvalidInput("page_token is not one this service issued")
    return cursor


def _millis_of(text: str, name: str) -> int | None:
    if not text:
        return None
    try:
        return _millis(parse_time(text))
    except (ValueError, OverflowError):
        raise InvalidInput(f"{name} is not an RFC 3339 time: {text[:40]!r}") from None


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _time(ms: int) -> str:
    """RFC 3339 UTC of a time in ms; '' when it cannot be one (year 1-9999)."""
    try:
        return format_time(_datetime(ms))
    except (OverflowError, OSError, ValueError):
        return ""
