from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BucketWidth(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUCKET_WIDTH_UNSPECIFIED: _ClassVar[BucketWidth]
    BUCKET_WIDTH_HOUR: _ClassVar[BucketWidth]
    BUCKET_WIDTH_DAY: _ClassVar[BucketWidth]
BUCKET_WIDTH_UNSPECIFIED: BucketWidth
BUCKET_WIDTH_HOUR: BucketWidth
BUCKET_WIDTH_DAY: BucketWidth

class WatchLog(_message.Message):
    __slots__ = ("message_id", "device_id", "device_model", "firmware", "timestamp", "activity", "duration_s", "steps", "heart_rate", "calories", "distance_m", "floors", "battery")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_MODEL_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    HEART_RATE_FIELD_NUMBER: _ClassVar[int]
    CALORIES_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    FLOORS_FIELD_NUMBER: _ClassVar[int]
    BATTERY_FIELD_NUMBER: _ClassVar[int]
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
    def __init__(self, message_id: _Optional[str] = ..., device_id: _Optional[str] = ..., device_model: _Optional[str] = ..., firmware: _Optional[str] = ..., timestamp: _Optional[str] = ..., activity: _Optional[str] = ..., duration_s: _Optional[int] = ..., steps: _Optional[int] = ..., heart_rate: _Optional[int] = ..., calories: _Optional[float] = ..., distance_m: _Optional[float] = ..., floors: _Optional[int] = ..., battery: _Optional[int] = ...) -> None: ...

class StoredLog(_message.Message):
    __slots__ = ("user_id", "log", "entry_id", "ingested_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    INGESTED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    log: WatchLog
    entry_id: str
    ingested_at: str
    def __init__(self, user_id: _Optional[str] = ..., log: _Optional[_Union[WatchLog, _Mapping]] = ..., entry_id: _Optional[str] = ..., ingested_at: _Optional[str] = ...) -> None: ...

class IngestLogsRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "logs")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    logs: _containers.RepeatedCompositeFieldContainer[WatchLog]
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., logs: _Optional[_Iterable[_Union[WatchLog, _Mapping]]] = ...) -> None: ...

class LogRejection(_message.Message):
    __slots__ = ("index", "message_id", "reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    message_id: str
    reason: str
    def __init__(self, index: _Optional[int] = ..., message_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class IngestLogsResponse(_message.Message):
    __slots__ = ("accepted", "duplicates", "rejected")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    rejected: _containers.RepeatedCompositeFieldContainer[LogRejection]
    def __init__(self, accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., rejected: _Optional[_Iterable[_Union[LogRejection, _Mapping]]] = ...) -> None: ...

class LogFilter(_message.Message):
    __slots__ = ("user_id", "device_id", "activity", "from_time", "to_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    device_id: str
    activity: str
    from_time: str
    to_time: str
    def __init__(self, user_id: _Optional[str] = ..., device_id: _Optional[str] = ..., activity: _Optional[str] = ..., from_time: _Optional[str] = ..., to_time: _Optional[str] = ...) -> None: ...

class ListLogsRequest(_message.Message):
    __slots__ = ("filter", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: LogFilter
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[LogFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLogsResponse(_message.Message):
    __slots__ = ("logs", "next_page_token")
    LOGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    logs: _containers.RepeatedCompositeFieldContainer[StoredLog]
    next_page_token: str
    def __init__(self, logs: _Optional[_Iterable[_Union[StoredLog, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AggregateLogsRequest(_message.Message):
    __slots__ = ("filter", "width")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    filter: LogFilter
    width: BucketWidth
    def __init__(self, filter: _Optional[_Union[LogFilter, _Mapping]] = ..., width: _Optional[_Union[BucketWidth, str]] = ...) -> None: ...

class LogBucket(_message.Message):
    __slots__ = ("user_id", "start", "samples", "steps", "active_minutes", "calories", "distance_m", "floors", "mean_heart_rate", "max_heart_rate", "battery_drain")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    CALORIES_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    FLOORS_FIELD_NUMBER: _ClassVar[int]
    MEAN_HEART_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_HEART_RATE_FIELD_NUMBER: _ClassVar[int]
    BATTERY_DRAIN_FIELD_NUMBER: _ClassVar[int]
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
    def __init__(self, user_id: _Optional[str] = ..., start: _Optional[str] = ..., samples: _Optional[int] = ..., steps: _Optional[int] = ..., active_minutes: _Optional[float] = ..., calories: _Optional[float] = ..., distance_m: _Optional[float] = ..., floors: _Optional[int] = ..., mean_heart_rate: _Optional[float] = ..., max_heart_rate: _Optional[int] = ..., battery_drain: _Optional[int] = ...) -> None: ...

class AggregateLogsResponse(_message.Message):
    __slots__ = ("buckets",)
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[LogBucket]
    def __init__(self, buckets: _Optional[_Iterable[_Union[LogBucket, _Mapping]]] = ...) -> None: ...

class GetDailySummariesRequest(_message.Message):
    __slots__ = ("user_id", "from_date", "to_date")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    from_date: str
    to_date: str
    def __init__(self, user_id: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ...) -> None: ...

class DailySummary(_message.Message):
    __slots__ = ("date", "samples", "steps", "active_minutes", "calories", "distance_m", "floors", "mean_heart_rate", "max_heart_rate")
    DATE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    CALORIES_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    FLOORS_FIELD_NUMBER: _ClassVar[int]
    MEAN_HEART_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_HEART_RATE_FIELD_NUMBER: _ClassVar[int]
    date: str
    samples: int
    steps: int
    active_minutes: float
    calories: float
    distance_m: float
    floors: int
    mean_heart_rate: float
    max_heart_rate: int
    def __init__(self, date: _Optional[str] = ..., samples: _Optional[int] = ..., steps: _Optional[int] = ..., active_minutes: _Optional[float] = ..., calories: _Optional[float] = ..., distance_m: _Optional[float] = ..., floors: _Optional[int] = ..., mean_heart_rate: _Optional[float] = ..., max_heart_rate: _Optional[int] = ...) -> None: ...

class GetDailySummariesResponse(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[DailySummary]
    def __init__(self, days: _Optional[_Iterable[_Union[DailySummary, _Mapping]]] = ...) -> None: ...

class GetPipelineStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamStatus(_message.Message):
    __slots__ = ("stream", "length", "lag", "pending", "dead_letters")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    LAG_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    stream: str
    length: int
    lag: int
    pending: int
    dead_letters: int
    def __init__(self, stream: _Optional[str] = ..., length: _Optional[int] = ..., lag: _Optional[int] = ..., pending: _Optional[int] = ..., dead_letters: _Optional[int] = ...) -> None: ...

class GetPipelineStatusResponse(_message.Message):
    __slots__ = ("streams",)
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    streams: _containers.RepeatedCompositeFieldContainer[StreamStatus]
    def __init__(self, streams: _Optional[_Iterable[_Union[StreamStatus, _Mapping]]] = ...) -> None: ...
