from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Activity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVITY_UNKNOWN: _ClassVar[Activity]
    ACTIVITY_STATIONARY: _ClassVar[Activity]
    ACTIVITY_WALKING: _ClassVar[Activity]
    ACTIVITY_RUNNING: _ClassVar[Activity]
ACTIVITY_UNKNOWN: Activity
ACTIVITY_STATIONARY: Activity
ACTIVITY_WALKING: Activity
ACTIVITY_RUNNING: Activity

class SensorReading(_message.Message):
    __slots__ = ("name", "timestamp_ms", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    timestamp_ms: int
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, name: _Optional[str] = ..., timestamp_ms: _Optional[int] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class IngestSensorDataRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "message_id", "session_id", "device_id", "readings")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    READINGS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    message_id: str
    session_id: str
    device_id: str
    readings: _containers.RepeatedCompositeFieldContainer[SensorReading]
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., message_id: _Optional[str] = ..., session_id: _Optional[str] = ..., device_id: _Optional[str] = ..., readings: _Optional[_Iterable[_Union[SensorReading, _Mapping]]] = ...) -> None: ...

class ReadingRejection(_message.Message):
    __slots__ = ("index", "reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    reason: str
    def __init__(self, index: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class IngestSensorDataResponse(_message.Message):
    __slots__ = ("accepted", "duplicate", "rejected")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicate: bool
    rejected: _containers.RepeatedCompositeFieldContainer[ReadingRejection]
    def __init__(self, accepted: _Optional[int] = ..., duplicate: _Optional[bool] = ..., rejected: _Optional[_Iterable[_Union[ReadingRejection, _Mapping]]] = ...) -> None: ...

class Device(_message.Message):
    __slots__ = ("device_id", "user_id", "first_seen")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    user_id: str
    first_seen: str
    def __init__(self, device_id: _Optional[str] = ..., user_id: _Optional[str] = ..., first_seen: _Optional[str] = ...) -> None: ...

class ListDevicesRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class ListDevicesResponse(_message.Message):
    __slots__ = ("devices",)
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    devices: _containers.RepeatedCompositeFieldContainer[Device]
    def __init__(self, devices: _Optional[_Iterable[_Union[Device, _Mapping]]] = ...) -> None: ...

class DeviceRef(_message.Message):
    __slots__ = ("user_id", "device_id", "any_owner")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    ANY_OWNER_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    device_id: str
    any_owner: bool
    def __init__(self, user_id: _Optional[str] = ..., device_id: _Optional[str] = ..., any_owner: _Optional[bool] = ...) -> None: ...

class GetCurrentActivityRequest(_message.Message):
    __slots__ = ("device",)
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    device: DeviceRef
    def __init__(self, device: _Optional[_Union[DeviceRef, _Mapping]] = ...) -> None: ...

class GetCurrentActivityResponse(_message.Message):
    __slots__ = ("device_id", "activity", "confidence", "since", "window_end")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    activity: Activity
    confidence: float
    since: str
    window_end: str
    def __init__(self, device_id: _Optional[str] = ..., activity: _Optional[_Union[Activity, str]] = ..., confidence: _Optional[float] = ..., since: _Optional[str] = ..., window_end: _Optional[str] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ("from_time", "to_time")
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    from_time: str
    to_time: str
    def __init__(self, from_time: _Optional[str] = ..., to_time: _Optional[str] = ...) -> None: ...

class GetActivityTimelineRequest(_message.Message):
    __slots__ = ("device", "range", "page_size", "page_token")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    device: DeviceRef
    range: TimeRange
    page_size: int
    page_token: str
    def __init__(self, device: _Optional[_Union[DeviceRef, _Mapping]] = ..., range: _Optional[_Union[TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ActivitySegment(_message.Message):
    __slots__ = ("activity", "start", "end", "confidence")
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    activity: Activity
    start: str
    end: str
    confidence: float
    def __init__(self, activity: _Optional[_Union[Activity, str]] = ..., start: _Optional[str] = ..., end: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...

class GetActivityTimelineResponse(_message.Message):
    __slots__ = ("segments", "next_page_token")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[ActivitySegment]
    next_page_token: str
    def __init__(self, segments: _Optional[_Iterable[_Union[ActivitySegment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetActivityDistributionRequest(_message.Message):
    __slots__ = ("device", "range")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    device: DeviceRef
    range: TimeRange
    def __init__(self, device: _Optional[_Union[DeviceRef, _Mapping]] = ..., range: _Optional[_Union[TimeRange, _Mapping]] = ...) -> None: ...

class ActivityShare(_message.Message):
    __slots__ = ("activity", "seconds")
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    activity: Activity
    seconds: float
    def __init__(self, activity: _Optional[_Union[Activity, str]] = ..., seconds: _Optional[float] = ...) -> None: ...

class GetActivityDistributionResponse(_message.Message):
    __slots__ = ("shares",)
    SHARES_FIELD_NUMBER: _ClassVar[int]
    shares: _containers.RepeatedCompositeFieldContainer[ActivityShare]
    def __init__(self, shares: _Optional[_Iterable[_Union[ActivityShare, _Mapping]]] = ...) -> None: ...

class ListActivityRecordsRequest(_message.Message):
    __slots__ = ("device", "range", "page_size", "page_token")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    device: DeviceRef
    range: TimeRange
    page_size: int
    page_token: str
    def __init__(self, device: _Optional[_Union[DeviceRef, _Mapping]] = ..., range: _Optional[_Union[TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ActivityRecord(_message.Message):
    __slots__ = ("window_key", "message_id", "session_id", "device_id", "window_start", "window_end", "magnitude", "dynamic_rms", "cadence_hz", "rate_hz", "samples", "activity", "confidence")
    WINDOW_KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    MAGNITUDE_FIELD_NUMBER: _ClassVar[int]
    DYNAMIC_RMS_FIELD_NUMBER: _ClassVar[int]
    CADENCE_HZ_FIELD_NUMBER: _ClassVar[int]
    RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    window_key: str
    message_id: str
    session_id: str
    device_id: str
    window_start: str
    window_end: str
    magnitude: float
    dynamic_rms: float
    cadence_hz: float
    rate_hz: float
    samples: int
    activity: Activity
    confidence: float
    def __init__(self, window_key: _Optional[str] = ..., message_id: _Optional[str] = ..., session_id: _Optional[str] = ..., device_id: _Optional[str] = ..., window_start: _Optional[str] = ..., window_end: _Optional[str] = ..., magnitude: _Optional[float] = ..., dynamic_rms: _Optional[float] = ..., cadence_hz: _Optional[float] = ..., rate_hz: _Optional[float] = ..., samples: _Optional[int] = ..., activity: _Optional[_Union[Activity, str]] = ..., confidence: _Optional[float] = ...) -> None: ...

class ListActivityRecordsResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[ActivityRecord]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[ActivityRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
