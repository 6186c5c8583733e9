"""How a log is written into a stream entry's fields and read back. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from services.common.timeutil import format_time, parse_time
from services.watch_logs.domain import ACTIVITIES, StoredLog, WatchLog

# Field order of an entry (the append script receives the values in this order).
FIELDS = (
    "user_id",
    "message_id",
    "device_id",
    "device_model",
    "firmware",
    "timestamp",
    "activity",
    "duration_s",
    "steps",
    "heart_rate",
    "calories",
    "distance_m",
    "floors",
    "battery",
)


def encode(user_id: str, log: WatchLog) -> list[str]:
    """The entry's field values, in ``FIELDS`` order (floats as repr: they read back equal)."""
    return [
        user_id,
        log.message_id,
        log.device_id,
        log.device_model,
        log.firmware,
        format_time(log.timestamp),
        log.activity,
        str(log.duration_s),
        str(log.steps),
        str(log.heart_rate),
        repr(float(log.calories)),
        repr(float(log.distance_m)),
        str(log.floors),
        str(log.battery),
    ]


def decode(fields: Mapping[str, str]) -> tuple[str, WatchLog]:
    """The owner and the log of an entry; ValueError if it is not one this service wrote."""
    try:
        activity = fields["activity"]
        if activity not in ACTIVITIES:
            raise ValueError(f"unknown activity {activity!r}")
        log = WatchLog(
            message_id=fields["message_id"],
            device_id=fields["device_id"],
            device_model=fields["device_model"],
            firmware=fields["firmware"],
            timestamp=parse_time(fields["timestamp"]),
            activity=activity,
            duration_s=int(fields["duration_s"]),
            steps=int(fields["steps"]),
            heart_rate=int(fields["heart_rate"]),
            calories=float(fields["calories"]),
            distance_m=float(fields["distance_m"]),
            floors=int(fields["floors"]),
            battery=int(fields["battery"]),
        )
        return fields["user_id"], log
    except KeyError as missing:
        raise ValueError(f"entry lacks field {missing}") from None


def entry_millis(entry_id: str) -> int:
    """The milliseconds part of a stream entry id (its ingest time)."""
    return int(entry_id.partition("-")[0])


def stored(entry_id: str, fields: Mapping[str, str]) -> StoredLog:
    """A stream entry as the domain's StoredLog (ingested_at from the id's milliseconds)."""
    user_id, log = decode(fields)
    ingested = datetime.fromtimestamp(entry_millis(entry_id) / 1000, UTC)
    return StoredLog(user_id=user_id, log=log, entry_id=entry_id, ingested_at=ingested)
