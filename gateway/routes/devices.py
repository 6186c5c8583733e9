"""GET /devices and what the motion service recognised per device (its owner, or an admin)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fitness.motion.v1 import motion_service_pb2 as pb

from gateway.edge.auth import ADMIN_ROLE
from gateway.edge.dependencies import AUTH_STATUSES, Caller, Pools, Principal, errors
from gateway.edge.errors import ApiError
from gateway.routes.fields import DevicePathId, MotionFrom, MotionPageSize, MotionTo, PageToken
from gateway.routes.schemas import (
    ActivityDistribution,
    ActivityRecordBody,
    ActivityRecordPage,
    ActivitySeconds,
    ActivityTimeline,
    CurrentActivity,
    DeviceBody,
    DeviceList,
    SegmentBody,
)
from services.common.timeutil import format_time, parse_time, utc_now
from services.common.upstream.rpcs import MotionRpc

router = APIRouter(tags=["motion"])
DEFAULT_SPAN = timedelta(hours=24)
MAX_SPAN = timedelta(days=7)
# The earliest `to` whose default `from` exists.
DEFAULT_SPAN_FLOOR = datetime.min.replace(tzinfo=UTC) + DEFAULT_SPAN
NAMES = {
    pb.ACTIVITY_UNKNOWN: "unknown",
    pb.ACTIVITY_STATIONARY: "stationary",
    pb.ACTIVITY_WALKING: "walking",
    pb.ACTIVITY_RUNNING: "running",
}
READ_ERRORS = errors(400, *AUTH_STATUSES)


@dataclass(frozen=True)
class Span:
    """A read's [from, to), checked and with its defaults filled in."""

    start: datetime
    end: datetime

    def proto(self) -> pb.TimeRange:
        """The range as the service takes it."""
        return pb.TimeRange(from_time=format_time(self.start), to_time=format_time(self.end))


async def span_of(from_time: MotionFrom = None, to_time: MotionTo = None) -> Span:
    """FastAPI dependency: from before to, at most 7 days apart (else 422); to defaults to
    now, from to 24 hours before to."""
    end = parse_time(to_time) if to_time else utc_now()
    if from_time is None and end < DEFAULT_SPAN_FLOOR:
        raise ApiError(422, "to is out of range")
    start = parse_time(from_time) if from_time else end - DEFAULT_SPAN
    if start >= end:
        raise ApiError(422, "from must be before to")
    if end - start > MAX_SPAN:
        raise ApiError(422, "from and to may be at most 7 days apart")
    return Span(start, end)


Range = Annotated[Span, Depends(span_of)]


def device_ref(device_id: str, principal: tuple[str, frozenset[str]]) -> pb.DeviceRef:
    """Who reads which device: an admin may read any (the token's role says so, nothing else)."""
    user_id, roles = principal
    return pb.DeviceRef(user_id=user_id, device_id=device_id, any_owner=ADMIN_ROLE in roles)


@router.get("/devices", response_model=DeviceList, responses=errors(*AUTH_STATUSES))
async def list_devices(caller: Caller, pools: Pools) -> DeviceList:
    """Your phones, most recently first seen first."""
    reply = await pools.motion.call(MotionRpc.ListDevices, pb.ListDevicesRequest(user_id=caller))
    return DeviceList(
        devices=[DeviceBody(device_id=d.device_id, first_seen=d.first_seen) for d in reply.devices]
    )


@router.get("/devices/{device_id}/activity", response_model=CurrentActivity, responses=READ_ERRORS)
async def current_activity(
    device_id: DevicePathId, principal: Principal, pools: Pools
) -> CurrentActivity:
    """The phone's latest recognised activity and since when it lasts (unknown, 0 and null
    before any window was classified)."""
    request = pb.GetCurrentActivityRequest(device=device_ref(device_id, principal))
    reply = await pools.motion.call(MotionRpc.GetCurrentActivity, request)
    return CurrentActivity(
        device_id=reply.device_id,
        activity=NAMES.get(reply.activity, "unknown"),
        confidence=reply.confidence,
        since=reply.since or None,
        window_end=reply.window_end or None,
    )


@router.get(
    "/devices/{device_id}/activity/timeline", response_model=ActivityTimeline, responses=READ_ERRORS
)
async def activity_timeline(
    device_id: DevicePathId,
    principal: Principal,
    pools: Pools,
    span: Range,
    page_size: MotionPageSize = 100,
    page_token: PageToken = "",
) -> ActivityTimeline:
    """The phone's activity over [from, to) as segments (consecutive windows of one activity
    merged), in time order. Pass the same from and to with next_page_token until it is empty."""
    request = pb.GetActivityTimelineRequest(
        device=device_ref(device_id, principal),
        range=span.proto(),
        page_size=page_size,
        page_token=page_token,
    )
    reply = await pools.motion.call(MotionRpc.GetActivityTimeline, request)
    return ActivityTimeline(
        segments=[
            SegmentBody(
                activity=NAMES.get(s.activity, "unknown"),
                start=s.start,
                end=s.end,
                confidence=s.confidence,
            )
            for s in reply.segments
        ],
        next_page_token=reply.next_page_token,
    )


@router.get(
    "/devices/{device_id}/activity/distribution",
    response_model=ActivityDistribution,
    responses=READ_ERRORS,
)
async def activity_distribution(
    device_id: DevicePathId, principal: Principal, pools: Pools, span: Range
) -> ActivityDistribution:
    """Seconds the phone spent in each activity within [from, to)."""
    request = pb.GetActivityDistributionRequest(
        device=device_ref(device_id, principal), range=span.proto()
    )
    reply = await pools.motion.call(MotionRpc.GetActivityDistribution, request)
    seconds = {name: 0.0 for name in NAMES.values()}
    for share in reply.shares:
        seconds[NAMES.get(share.activity, "unknown")] += share.seconds
    return ActivityDistribution(
        device_id=device_id,
        from_time=format_time(span.start),
        to_time=format_time(span.end),
        seconds=ActivitySeconds(**seconds),
    )


@router.get(
    "/devices/{device_id}/activity/records",
    response_model=ActivityRecordPage,
    responses=READ_ERRORS,
)
async def activity_records(
    device_id: DevicePathId,
    principal: Principal,
    pools: Pools,
    span: Range,
    page_size: MotionPageSize = 100,
    page_token: PageToken = "",
) -> ActivityRecordPage:
    """The processed records (one per classified window) whose window ends in [from, to),
    oldest first. Pass the same from and to with next_page_token until it is empty."""
    request = pb.ListActivityRecordsRequest(
        device=device_ref(device_id, principal),
        range=span.proto(),
        page_size=page_size,
        page_token=page_token,
    )
    reply = await pools.motion.call(MotionRpc.ListActivityRecords, request)
    return ActivityRecordPage(
        records=[record_body(r) for r in reply.records], next_page_token=reply.next_page_token
    )


def record_body(record: pb.ActivityRecord) -> ActivityRecordBody:
    """A record as the REST API shows it."""
    return ActivityRecordBody(
        window_key=record.window_key,
        message_id=record.message_id,
        session_id=record.session_id,
        device_id=record.device_id,
        timestamp=record.window_start,
        window_end=record.window_end,
        magnitude=record.magnitude,
        dynamic_rms=record.dynamic_rms,
        cadence_hz=record.cadence_hz,
        rate_hz=record.rate_hz,
        samples=record.samples,
        activity=NAMES.get(record.activity, "unknown"),
        confidence=record.confidence,
    )
