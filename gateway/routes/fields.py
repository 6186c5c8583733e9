"""Field types for everything a client sends, so the edge checks each value once.

Each type carries its rule both ways: pydantic enforces it (a breach is 422) and the
OpenAPI schema declares it (length, range, pattern, format, enum). Bounds follow what the
protobuf fields and the stores hold; the services check the same rules again for direct
gRPC callers, and the rules that need state or the clock (a date in the past, an end
before the start, a birth year after this one) stay theirs (400).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, Field

from services.activity.domain import WORKOUT_TYPES
from services.common.text import MULTILINE_PATTERN, SINGLE_LINE_PATTERN, describe, unsafe_character
from services.common.timeutil import parse_date, parse_time
from services.motion import validation as motion_rules
from services.watch_logs.domain import ACTIVITIES

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
ID_PATTERN = r"^[A-Za-z0-9._:-]+$"
ID_MAX = 128
USERNAME_PATTERN = r"^[A-Za-z0-9._-]{3,32}$"
# The user service's rule, minus what no address may hold (whitespace, controls).
EMAIL_PATTERN = (
    r"^[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+$"
)
_EMAIL = re.compile(EMAIL_PATTERN)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATE_TIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
WORKOUT_TYPE_NAMES = tuple(sorted(WORKOUT_TYPES))
WATCH_ACTIVITY_NAMES = tuple(sorted(ACTIVITIES))
WATCH_ID_MAX = 64


def safe_text(value: str) -> str:
    """Refuse lone surrogates, controls and bidi controls in one-line text."""
    return _refuse(value, unsafe_character(value))


def safe_multiline(value: str) -> str:
    """As safe_text, but tabs and line breaks are allowed."""
    return _refuse(value, unsafe_character(value, multiline=True))


def _refuse(value: str, bad: str | None) -> str:
    if bad is not None:
        raise ValueError(f"must not contain {describe(bad)} (control or invalid character)")
    return value


def email_address(value: str) -> str:
    """An address the user service would accept that holds no control or format character."""
    bad = unsafe_character(value, formats=False)
    if bad is not None:
        raise ValueError(f"must not contain {describe(bad)} (control or format character)")
    if not _EMAIL.match(value):
        raise ValueError("is not a valid address")
    return value


def iso_date(value: str) -> str:
    """A YYYY-MM-DD calendar date that exists."""
    try:
        if _DATE.match(value):
            parse_date(value)
            return value
    except ValueError:
        pass
    raise ValueError("must be a calendar date, YYYY-MM-DD")


def rfc3339(value: str) -> str:
    """An RFC 3339 timestamp with a UTC offset that exists (and converts to UTC)."""
    try:
        if _DATE_TIME.match(value):
            parse_time(value)
            return value
    except (ValueError, OverflowError):
        pass
    raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2030-01-31T10:30:00Z")


def workout_type(value: str) -> str:
    """One of the activity service's workout types."""
    if value not in WORKOUT_TYPES:
        raise ValueError(f"unknown workout_type; known: {', '.join(WORKOUT_TYPE_NAMES)}")
    return value


def watch_activity(value: str) -> str:
    """One of the activities a watch log may name."""
    if value not in ACTIVITIES:
        raise ValueError(f"unknown activity; known: {', '.join(WATCH_ACTIVITY_NAMES)}")
    return value


def heart_rate(value: int) -> int:
    """0 (not measured) or a plausible rate, 25-250 beats per minute."""
    if 0 < value < 25:
        raise ValueError("must be 0 (not measured) or 25-250")
    return value


def _text(pattern: str = SINGLE_LINE_PATTERN) -> Any:
    return Field(json_schema_extra={"pattern": pattern})


def _length(low: int, high: int) -> Any:
    return Field(min_length=low, max_length=high)


# Lengths come first so that pydantic checks them on the string itself.
SAFE = AfterValidator(safe_text)
SAFE_MULTILINE = AfterValidator(safe_multiline)

Username = Annotated[
    str, Field(min_length=3, max_length=32, pattern=USERNAME_PATTERN, examples=["alice"])
]
Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        json_schema_extra={"pattern": EMAIL_PATTERN},
        description="An e-mail address without control or format (e.g. bidi) characters",
        examples=["alice@example.com"],
    ),
    AfterValidator(email_address),
]
# Passwords may hold any printable character; controls are refused (no keyboard types them).
Password = Annotated[
    str, Field(min_length=8, max_length=128, examples=["correct horse battery"]), SAFE, _text()
]
# At login any length up to the maximum: a wrong password is 401, not a validation error.
LoginPassword = Annotated[str, _length(1, 128), SAFE, _text()]
DisplayName = Annotated[str, Field(max_length=64, examples=["Alice"]), SAFE, _text()]
WeightKg = Annotated[
    float,
    Field(ge=20, le=400, allow_inf_nan=False, description="Body weight in kg", examples=[62.5]),
]
HeightCm = Annotated[
    float, Field(ge=50, le=272, allow_inf_nan=False, description="Height in cm", examples=[170])
]
BirthYear = Annotated[
    int,
    Field(
        ge=1900,
        le=9999,
        description="1900 up to the current year (a later year is 400)",
        examples=[1990],
    ),
]
TargetValue = Annotated[
    float,
    Field(
        gt=0,
        le=10_000_000,
        allow_inf_nan=False,
        description="Greater than 0, in the goal type's unit",
    ),
]
IsoDate = Annotated[
    str,
    Field(
        min_length=10,
        max_length=10,
        json_schema_extra={"format": "date"},
        description="YYYY-MM-DD",
        examples=["2030-01-31"],
    ),
    AfterValidator(iso_date),
]
Timestamp = Annotated[
    str,
    Field(
        max_length=40,
        json_schema_extra={"format": "date-time"},
        description="RFC 3339 with an offset",
        examples=["2030-01-31T10:30:00Z"],
    ),
    AfterValidator(rfc3339),
]
WorkoutType = Annotated[
    str,
    Field(json_schema_extra={"enum": list(WORKOUT_TYPE_NAMES)}, examples=["running"]),
    AfterValidator(workout_type),
]
# An id a client sends in a body (a user, session or poll id).
BodyId = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
Title = Annotated[str, _length(1, 100), SAFE, _text()]
# Frame texts of live sessions.
ChatText = Annotated[str, _length(1, 1000), SAFE_MULTILINE, _text(MULTILINE_PATTERN)]
ExerciseName = Annotated[str, _length(0, 64), SAFE, _text()]
PollQuestion = Annotated[str, _length(1, 200), SAFE, _text()]
PollOption = Annotated[str, _length(1, 100), SAFE, _text()]

# Path and query parameters.
PathId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=ID_MAX,
        pattern=ID_PATTERN,
        description="An id as the API returned it",
    ),
]
PageToken = Annotated[
    str,
    Query(
        max_length=512,
        pattern=r"^[A-Za-z0-9_=-]*$",
        description="next_page_token of the previous page; empty for the first",
    ),
]

# Watch logs (docs/watch-logs.md): one entry's fields, each a rule of the log schema.
WatchId = Annotated[
    str, Field(min_length=1, max_length=WATCH_ID_MAX, pattern=ID_PATTERN, examples=["w-1:0001"])
]
DeviceModel = Annotated[str, Field(max_length=64, examples=["Forerunner 265"]), SAFE, _text()]
Firmware = Annotated[str, Field(max_length=32, examples=["20.26"]), SAFE, _text()]
WatchActivity = Annotated[
    str,
    Field(json_schema_extra={"enum": list(WATCH_ACTIVITY_NAMES)}, examples=["walking"]),
    AfterValidator(watch_activity),
]
DurationS = Annotated[int, Field(ge=1, le=3600, description="Seconds the sample covers")]
Steps = Annotated[int, Field(ge=0, le=100_000)]
HeartRate = Annotated[
    int,
    Field(ge=0, le=250, description="Mean beats per minute, 25-250; 0: not measured"),
    AfterValidator(heart_rate),
]
Calories = Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False, description="Kilocalories")]
DistanceM = Annotated[float, Field(ge=0, le=200_000, allow_inf_nan=False, description="Metres")]
Floors = Annotated[int, Field(ge=0, le=1000)]
Battery = Annotated[int, Field(ge=0, le=100, description="Percent at the end of the sample")]

# Query filters of the watch-log reports; absent means "do not filter".
# User ids are parts of the watch-log store's keys: the service's bound (WATCH_ID_MAX).
QueryUserId = Annotated[WatchId | None, Query(description="Only this user's entries")]
ReportUserId = Annotated[
    str, Query(min_length=1, max_length=WATCH_ID_MAX, pattern=ID_PATTERN, description="The user")
]
QueryDeviceId = Annotated[WatchId | None, Query(description="Only this watch's entries")]
QueryActivity = Annotated[WatchActivity | None, Query(description="Only this activity")]
FromTime = Annotated[
    Timestamp | None,
    Query(alias="from", description="Samples at or after, RFC 3339; default 24 h before to"),
]
ToTime = Annotated[
    Timestamp | None, Query(alias="to", description="Samples before, RFC 3339; default now")
]
# Report options: an unknown name is 422.
BucketName = Literal["hour", "day"]
ExportFormat = Literal["csv", "ndjson"]
QueryDate = Annotated[IsoDate | None, Query(description="YYYY-MM-DD (UTC)")]

# Motion (POST /sensor-data, /devices): the motion service's bounds (services/motion/validation.py).
SensorId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=motion_rules.ID_MAX,
        pattern=ID_PATTERN,
        examples=["phone-1"],
    ),
]
SensorName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=motion_rules.NAME_MAX,
        pattern=f"^{motion_rules.NAME_PATTERN.pattern}$",
        description="The sensor; 'accelerometer' readings are classified, others stored raw",
        examples=["accelerometer"],
    ),
]
TimestampMs = Annotated[
    int,
    Field(
        ge=0,
        le=motion_rules.MAX_TIMESTAMP_MS,
        description="Milliseconds since the Unix epoch; within the last 24 h, at most 5 min ahead",
        examples=[1_767_225_600_000],
    ),
]
SensorValue = Annotated[
    float,
    Field(
        ge=-motion_rules.MAX_ABS_VALUE,
        le=motion_rules.MAX_ABS_VALUE,
        allow_inf_nan=False,
        description="A finite number (m/s² for the accelerometer)",
    ),
]
SensorValues = Annotated[
    list[SensorValue],
    Field(
        min_length=1,
        max_length=motion_rules.MAX_VALUES,
        description="[x, y, z] for the accelerometer; 1-16 numbers for other sensors",
    ),
]
DevicePathId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=motion_rules.ID_MAX,
        pattern=ID_PATTERN,
        description="A device id as POST /sensor-data named it",
    ),
]
MotionFrom = Annotated[
    Timestamp | None,
    Query(alias="from", description="RFC 3339; default 24 h before to (at most 7 days before)"),
]
MotionTo = Annotated[Timestamp | None, Query(alias="to", description="RFC 3339; default now")]
MotionPageSize = Annotated[int, Query(ge=1, le=1000, description="At most this many per page")]
