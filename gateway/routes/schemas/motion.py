"""REST bodies of the motion routes: the seed's sensor message (camelCase, as phones send
it), one reading's schema, and the answers of /devices."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from gateway.routes.fields import SensorId, SensorName, SensorValues, TimestampMs
from gateway.routes.schemas.common import StrictBody
from services.motion.domain import ACCELEROMETER
from services.motion.validation import ACCELEROMETER_VALUES, MAX_READINGS


class SensorReadingBody(StrictBody):
    """One sample of one sensor (validated reading by reading)."""

    name: SensorName
    timestamp: TimestampMs
    values: SensorValues

    @model_validator(mode="after")
    def _accelerometer_is_xyz(self) -> Self:
        if self.name == ACCELEROMETER and len(self.values) != ACCELEROMETER_VALUES:
            raise ValueError("accelerometer values must be [x, y, z]")
        return self


class _ReadingSchema:
    """Documents a raw reading as SensorReadingBody: the route judges each on its own."""

    def __get_pydantic_json_schema__(
        self, _core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(SensorReadingBody.__pydantic_core_schema__)


# Any JSON value here; SensorReadingBody's rules apply per reading, so one bad reading is
# one rejection, not a refused message.
RawReading = Annotated[Any, _ReadingSchema()]


class SensorDataBody(StrictBody):
    """POST /sensor-data: one message of a phone's readings (the seed's payload)."""

    message_id: SensorId = Field(
        alias="messageId", description="Unique per device: the message's idempotency key"
    )
    session_id: SensorId = Field(alias="sessionId", description="The recording session")
    device_id: SensorId = Field(
        alias="deviceId", description="The phone; it belongs to the first user who posts it"
    )
    sensor_readings: list[RawReading] = Field(
        alias="sensorReadings", min_length=1, max_length=MAX_READINGS
    )


class ReadingRejectionBody(BaseModel):
    """Why the reading at ``index`` of the message's sensorReadings was not stored."""

    index: int
    reason: str


class SensorDataAccepted(BaseModel):
    """What became of a message: readings stored (now, or by the first call of a duplicate)
    and those refused."""

    message_id: str
    accepted: int
    duplicate: bool
    rejected: list[ReadingRejectionBody]


class DeviceBody(BaseModel):
    """One of the caller's phones."""

    device_id: str
    first_seen: str


class DeviceList(BaseModel):
    """GET /devices, most recently first seen first."""

    devices: list[DeviceBody]


class CurrentActivity(BaseModel):
    """A device's latest recognised activity; unknown (and null times) before any window."""

    device_id: str
    activity: str
    confidence: float
    since: str | None
    window_end: str | None


class SegmentBody(BaseModel):
    """A stretch [start, end) of one activity; confidence is its windows' mean."""

    activity: str
    start: str
    end: str
    confidence: float


class ActivityTimeline(BaseModel):
    """One page of a device's timeline; continue while next_page_token is not empty."""

    segments: list[SegmentBody]
    next_page_token: str


class ActivitySeconds(BaseModel):
    """Seconds in each activity."""

    stationary: float
    walking: float
    running: float
    unknown: float


class ActivityDistribution(BaseModel):
    """Seconds a device spent in each activity within [from, to)."""

    device_id: str
    from_time: str = Field(serialization_alias="from")
    to_time: str = Field(serialization_alias="to")
    seconds: ActivitySeconds


class ActivityRecordBody(BaseModel):
    """A processed record: the seed's fields (camelCase) and what the window measured."""

    model_config = ConfigDict(populate_by_name=True)

    window_key: str
    message_id: str = Field(alias="messageId")
    session_id: str = Field(alias="sessionId")
    device_id: str = Field(alias="deviceId")
    timestamp: str = Field(description="The window's start, RFC 3339 UTC")
    window_end: str
    magnitude: float = Field(description="Mean |a| over the window, m/s²")
    dynamic_rms: float
    cadence_hz: float
    rate_hz: float
    samples: int
    activity: str
    confidence: float


class ActivityRecordPage(BaseModel):
    """One page of records by window end; continue while next_page_token is not empty."""

    records: list[ActivityRecordBody]
    next_page_token: str
