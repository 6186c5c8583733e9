"""What the reporting routes share: the query filter and the rendering of a stored entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends
from fitness.watch_logs.v1 import watch_logs_service_pb2 as pb

from gateway.edge.errors import ApiError
from gateway.routes.fields import FromTime, QueryActivity, QueryDeviceId, QueryUserId, ToTime
from gateway.routes.schemas import StoredLogBody
from services.common.timeutil import format_time, parse_time

# The earliest `to` whose default `from` (24 h before it, the service's rule) exists.
DEFAULT_SPAN_FLOOR = datetime.min.replace(tzinfo=UTC) + timedelta(hours=24)
# The export's columns, in this order (docs/watch-logs.md).
COLUMNS = tuple(StoredLogBody.model_fields)


async def log_filter(
    user_id: QueryUserId = None,
    device_id: QueryDeviceId = None,
    activity: QueryActivity = None,
    from_time: FromTime = None,
    to_time: ToTime = None,
) -> pb.LogFilter:
    """FastAPI dependency: the filter of a report; from must be before to (else 422)."""
    start = parse_time(from_time) if from_time else None
    end = parse_time(to_time) if to_time else None
    if start is not None and end is not None and start >= end:
        raise ApiError(422, "from must be before to")
    if start is None and end is not None and end < DEFAULT_SPAN_FLOOR:
        # The service's default start (24 h before to) would fall before year 1.
        raise ApiError(422, "to is out of range")
    return pb.LogFilter(
        user_id=user_id or "",
        device_id=device_id or "",
        activity=activity or "",
        from_time=format_time(start),
        to_time=format_time(end),
    )


Filter = Annotated[pb.LogFilter, Depends(log_filter)]


def stored_body(stored: pb.StoredLog) -> StoredLogBody:
    """Render a stored entry, flat: owner, entry id, ingest time, then the entry's fields."""
    return StoredLogBody(**stored_fields(stored))


def stored_fields(stored: pb.StoredLog) -> dict[str, Any]:
    """A stored entry's fields by column name."""
    log = stored.log
    return {
        "user_id": stored.user_id,
        "entry_id": stored.entry_id,
        "ingested_at": stored.ingested_at,
        "message_id": log.message_id,
        "device_id": log.device_id,
        "device_model": log.device_model,
        "firmware": log.firmware,
        "timestamp": log.timestamp,
        "activity": log.activity,
        "duration_s": log.duration_s,
        "steps": log.steps,
        "heart_rate": log.heart_rate,
        "calories": log.calories,
        "distance_m": log.distance_m,
        "floors": log.floors,
        "battery": log.battery,
    }
