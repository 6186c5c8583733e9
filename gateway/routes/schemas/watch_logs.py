"""REST bodies of the watch-log routes: one entry's schema, the batch, and the reports."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from gateway.routes.fields import (
    Battery,
    BodyId,
    Calories,
    DeviceModel,
    DistanceM,
    DurationS,
    Firmware,
    Floors,
    HeartRate,
    Steps,
    Timestamp,
    WatchActivity,
    WatchId,
)
from gateway.routes.schemas.common import StrictBody

# GATEWAY_WATCH_LOGS_MAX_BATCH's ceiling: the service refuses larger batches.
MAX_BATCH = 500


class WatchLogEntry(StrictBody):
    """One sample or event a watch recorded (validated entry by entry)."""

    message_id: WatchId = Field(description="Unique per user: the entry's idempotency key")
    device_id: WatchId
    device_model: DeviceModel
    firmware: Firmware
    timestamp: Timestamp = Field(description="When the sample was taken, RFC 3339 with offset")
    activity: WatchActivity
    duration_s: DurationS
    steps: Steps
    heart_rate: HeartRate = 0
    calories: Calories
    distance_m: DistanceM
    floors: Floors = 0
    battery: Battery


class _EntrySchema:
    """Documents a raw entry as WatchLogEntry: the route validates each entry on its own."""

    def __get_pydantic_json_schema__(
        self, _core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(WatchLogEntry.__pydantic_core_schema__)


# Any JSON object here; WatchLogEntry's rules apply per entry, so one bad entry is one
# rejection, not a refused batch.
RawEntry = Annotated[dict[str, Any], _EntrySchema()]


class WatchLogBatch(StrictBody):
    """POST /watch-logs: entries of the caller's watches."""

    user_id: BodyId | None = Field(None, description="Optional; must be the caller")
    logs: list[RawEntry] = Field(min_length=1, max_length=MAX_BATCH)


class LogRejectionBody(BaseModel):
    """Why the entry at ``index`` of the request's ``logs`` was not stored."""

    index: int
    message_id: str
    reason: str


class IngestResult(BaseModel):
    """What a batch did: stored now, stored before (a retry), refused."""

    accepted: int
    duplicates: int
    rejected: list[LogRejectionBody]


class StoredLogBody(BaseModel):
    """A stored entry: its owner, where the store put it, and the entry's fields."""

    user_id: str
    entry_id: str
    ingested_at: str
    message_id: str
    device_id: str
    device_model: str
    firmware: str
    timestamp: str
    activity: str
    duration_s: int
    steps: int
    heart_rate: int
    calories: float
    distance_m: float
    floors: int
    battery: int


class WatchLogPage(BaseModel):
    """GET /watch-logs: a page (possibly short) and the token of the next; empty when done."""

    logs: list[StoredLogBody]
    next_page_token: str


class LogBucketBody(BaseModel):
    """One user's entries in one hour or day (UTC), rolled up."""

    user_id: str
    start: str
    samples: int
    steps: int
    active_minutes: float
    calories: float
    distance_m: float
    floors: int
    mean_heart_rate: float
    max_heart_rate: int
    battery_drain: int


class LogBucketList(BaseModel):
    """GET /watch-logs/aggregates, in (user, start) order."""

    buckets: list[LogBucketBody]


class DailySummaryBody(BaseModel):
    """A user's day as the reporting consumer group counted it."""

    date: str
    samples: int
    steps: int
    active_minutes: float
    calories: float
    distance_m: float
    floors: int
    mean_heart_rate: float
    max_heart_rate: int


class DailySummaryList(BaseModel):
    """The days that have entries, in date order."""

    days: list[DailySummaryBody]


class StreamStatusBody(BaseModel):
    """One partition stream: length, the reporting group's lag and pending, dead letters."""

    stream: str
    length: int
    lag: int
    pending: int
    dead_letters: int


class PipelineStatus(BaseModel):
    """GET /watch-logs/pipeline."""

    streams: list[StreamStatusBody]
