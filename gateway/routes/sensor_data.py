"""POST /sensor-data: one message of a phone's readings, each reading judged on its own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fitness.motion.v1 import motion_service_pb2 as pb
from pydantic import TypeAdapter, ValidationError

from gateway.config import GatewaySettings
from gateway.edge.creation_limit import CreationLimit
from gateway.edge.dependencies import AUTH_STATUSES, Caller, Pools, errors, new_request_id
from gateway.edge.errors import ApiError, nothing_stored
from gateway.routes.schemas import (
    ReadingRejectionBody,
    SensorDataAccepted,
    SensorDataBody,
    SensorReadingBody,
)
from gateway.routes.watch_logs.ingest import reason
from services.common.upstream.rpcs import MotionRpc

router = APIRouter(tags=["motion"])
READING = TypeAdapter(SensorReadingBody)
READINGS = TypeAdapter(list[SensorReadingBody])
Screened = tuple[list[pb.SensorReading], list[int], list[ReadingRejectionBody]]


@router.post(
    "/sensor-data",
    status_code=202,
    response_model=SensorDataAccepted,
    responses=errors(400, 429, *AUTH_STATUSES),
)
async def post_sensor_data(
    body: SensorDataBody, caller: Caller, pools: Pools, request: Request
) -> SensorDataAccepted | JSONResponse:
    """Store a message of your phone's readings (the phone becomes yours with its first
    message; another user's is 403). Each reading is stored or rejected with its reason;
    a message of which nothing is stored is 422. A retry of a messageId gets the first
    answer with duplicate set and stores nothing twice."""
    settings: GatewaySettings = request.app.state.settings
    readings = body.sensor_readings
    if len(readings) > settings.motion_max_readings:
        raise ApiError(422, f"sensorReadings: at most {settings.motion_max_readings} readings")
    # Every reading counts, refused ones too: junk must not be free to send.
    quota: CreationLimit = request.app.state.motion_quota
    await quota.check(caller, len(readings))
    valid, positions, rejected = screen(readings)
    accepted, duplicate = 0, False
    if valid:
        message = pb.IngestSensorDataRequest(
            request_id=new_request_id(),
            user_id=caller,
            message_id=body.message_id,
            session_id=body.session_id,
            device_id=body.device_id,
            readings=valid,
        )
        reply = await pools.motion.call(MotionRpc.IngestSensorData, message)
        accepted, duplicate = reply.accepted, reply.duplicate
        rejected += [
            ReadingRejectionBody(index=_position(positions, r.index), reason=r.reason)
            for r in reply.rejected
        ]
    rejected.sort(key=lambda rejection: rejection.index)
    if not accepted:
        return nothing_stored("reading", "sensorReadings", rejected)
    return SensorDataAccepted(
        message_id=body.message_id, accepted=accepted, duplicate=duplicate, rejected=rejected
    )


def screen(items: list[Any]) -> Screened:
    """The valid readings as protobuf, their indexes in ``items``, and the rejections."""
    # The usual message is all valid: one validation of the whole list is far cheaper than
    # one per reading (as for watch-log batches).
    try:
        readings = READINGS.validate_python(items)
    except ValidationError:
        return screen_each(items)
    return [to_proto(r) for r in readings], list(range(len(items))), []


def screen_each(items: list[Any]) -> Screened:
    """``screen`` reading by reading, each rejection with its own reason."""
    valid: list[pb.SensorReading] = []
    positions: list[int] = []
    rejected: list[ReadingRejectionBody] = []
    for index, item in enumerate(items):
        try:
            reading = READING.validate_python(item)
        except ValidationError as error:
            rejected.append(ReadingRejectionBody(index=index, reason=reason(error)))
            continue
        valid.append(to_proto(reading))
        positions.append(index)
    return valid, positions, rejected


def to_proto(reading: SensorReadingBody) -> pb.SensorReading:
    """The reading as the service takes it (which checks its time against its clock)."""
    return pb.SensorReading(
        name=reading.name, timestamp_ms=reading.timestamp, values=reading.values
    )


def _position(positions: list[int], index: int) -> int:
    """The index in the client's message of the service's ``index``-th reading."""
    return positions[index] if index < len(positions) else index
