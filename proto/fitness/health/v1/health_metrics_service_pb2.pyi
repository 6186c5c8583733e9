import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MetricPoint(_message.Message):
    __slots__ = ("time", "value")
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    value: float
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[float] = ...) -> None: ...

class WritePointsRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "metric", "points")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    metric: str
    points: _containers.RepeatedCompositeFieldContainer[MetricPoint]
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., metric: _Optional[str] = ..., points: _Optional[_Iterable[_Union[MetricPoint, _Mapping]]] = ...) -> None: ...

class PointRejection(_message.Message):
    __slots__ = ("index", "reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    reason: str
    def __init__(self, index: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class WritePointsResponse(_message.Message):
    __slots__ = ("accepted", "unchanged", "rejected")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    unchanged: int
    rejected: _containers.RepeatedCompositeFieldContainer[PointRejection]
    def __init__(self, accepted: _Optional[int] = ..., unchanged: _Optional[int] = ..., rejected: _Optional[_Iterable[_Union[PointRejection, _Mapping]]] = ...) -> None: ...

class DeletePointsRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "metric", "to")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    metric: str
    to: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., metric: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., **kwargs) -> None: ...

class DeletePointsResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class ReadSeriesRequest(_message.Message):
    __slots__ = ("user_id", "metric", "to", "resolution", "fill", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    FILL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    metric: str
    to: _timestamp_pb2.Timestamp
    resolution: str
    fill: str
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., metric: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolution: _Optional[str] = ..., fill: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., **kwargs) -> None: ...

class SeriesPoint(_message.Message):
    __slots__ = ("time", "value", "min", "max", "count", "imputed")
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    IMPUTED_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    value: float
    min: float
    max: float
    count: int
    imputed: bool
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., count: _Optional[int] = ..., imputed: _Optional[bool] = ...) -> None: ...

class ReadSeriesResponse(_message.Message):
    __slots__ = ("metric", "unit", "resolution", "points", "next_page_token")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    metric: str
    unit: str
    resolution: str
    points: _containers.RepeatedCompositeFieldContainer[SeriesPoint]
    next_page_token: str
    def __init__(self, metric: _Optional[str] = ..., unit: _Optional[str] = ..., resolution: _Optional[str] = ..., points: _Optional[_Iterable[_Union[SeriesPoint, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SleepStageSpan(_message.Message):
    __slots__ = ("stage", "start", "end")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    stage: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, stage: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SleepSession(_message.Message):
    __slots__ = ("start", "end", "stages")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    stages: _containers.RepeatedCompositeFieldContainer[SleepStageSpan]
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stages: _Optional[_Iterable[_Union[SleepStageSpan, _Mapping]]] = ...) -> None: ...

class WriteSleepRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "sessions")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    sessions: _containers.RepeatedCompositeFieldContainer[SleepSession]
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., sessions: _Optional[_Iterable[_Union[SleepSession, _Mapping]]] = ...) -> None: ...

class WriteSleepResponse(_message.Message):
    __slots__ = ("accepted", "unchanged")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    unchanged: int
    def __init__(self, accepted: _Optional[int] = ..., unchanged: _Optional[int] = ...) -> None: ...

class ReadSleepRequest(_message.Message):
    __slots__ = ("user_id", "to")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    to: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., **kwargs) -> None: ...

class StageMinutes(_message.Message):
    __slots__ = ("stage", "minutes")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    stage: str
    minutes: float
    def __init__(self, stage: _Optional[str] = ..., minutes: _Optional[float] = ...) -> None: ...

class SleepSummary(_message.Message):
    __slots__ = ("session", "night", "minutes", "asleep_minutes")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    NIGHT_FIELD_NUMBER: _ClassVar[int]
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    ASLEEP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    session: SleepSession
    night: str
    minutes: _containers.RepeatedCompositeFieldContainer[StageMinutes]
    asleep_minutes: float
    def __init__(self, session: _Optional[_Union[SleepSession, _Mapping]] = ..., night: _Optional[str] = ..., minutes: _Optional[_Iterable[_Union[StageMinutes, _Mapping]]] = ..., asleep_minutes: _Optional[float] = ...) -> None: ...

class ReadSleepResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[SleepSummary]
    def __init__(self, sessions: _Optional[_Iterable[_Union[SleepSummary, _Mapping]]] = ...) -> None: ...

class GetDailySummaryRequest(_message.Message):
    __slots__ = ("user_id", "day")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    day: str
    def __init__(self, user_id: _Optional[str] = ..., day: _Optional[str] = ...) -> None: ...

class OptionalValue(_message.Message):
    __slots__ = ("present", "value")
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    present: bool
    value: float
    def __init__(self, present: _Optional[bool] = ..., value: _Optional[float] = ...) -> None: ...

class GetDailySummaryResponse(_message.Message):
    __slots__ = ("day", "resting_heart_rate", "steps", "active_zone_minutes", "spo2_mean", "hrv_mean", "breathing_rate_mean", "sleep_minutes")
    DAY_FIELD_NUMBER: _ClassVar[int]
    RESTING_HEART_RATE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ZONE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    SPO2_MEAN_FIELD_NUMBER: _ClassVar[int]
    HRV_MEAN_FIELD_NUMBER: _ClassVar[int]
    BREATHING_RATE_MEAN_FIELD_NUMBER: _ClassVar[int]
    SLEEP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    day: str
    resting_heart_rate: OptionalValue
    steps: OptionalValue
    active_zone_minutes: OptionalValue
    spo2_mean: OptionalValue
    hrv_mean: OptionalValue
    breathing_rate_mean: OptionalValue
    sleep_minutes: _containers.RepeatedCompositeFieldContainer[StageMinutes]
    def __init__(self, day: _Optional[str] = ..., resting_heart_rate: _Optional[_Union[OptionalValue, _Mapping]] = ..., steps: _Optional[_Union[OptionalValue, _Mapping]] = ..., active_zone_minutes: _Optional[_Union[OptionalValue, _Mapping]] = ..., spo2_mean: _Optional[_Union[OptionalValue, _Mapping]] = ..., hrv_mean: _Optional[_Union[OptionalValue, _Mapping]] = ..., breathing_rate_mean: _Optional[_Union[OptionalValue, _Mapping]] = ..., sleep_minutes: _Optional[_Iterable[_Union[StageMinutes, _Mapping]]] = ...) -> None: ...

class LinkSimulatedDeviceRequest(_message.Message):
    __slots__ = ("request_id", "user_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class LinkSimulatedDeviceResponse(_message.Message):
    __slots__ = ("created", "ingested_through")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    INGESTED_THROUGH_FIELD_NUMBER: _ClassVar[int]
    created: bool
    ingested_through: str
    def __init__(self, created: _Optional[bool] = ..., ingested_through: _Optional[str] = ...) -> None: ...
