"""Motion recognition: readings a phone sends, the windows recognised from them, and the
domain errors. Times are milliseconds since the Unix epoch (event time: the device's clock)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.common.dependency import DependencyUnavailable

ACCELEROMETER = "accelerometer"


class Activity(StrEnum):
    """What a window is recognised as."""

    UNKNOWN = "unknown"
    STATIONARY = "stationary"
    WALKING = "walking"
    RUNNING = "running"


class InvalidInput(ValueError):
    """A request the service refuses as malformed."""


class NothingToStore(InvalidInput):
    """Every reading of a message was rejected; ``rejected`` says why, per reading."""

    def __init__(self, rejected: tuple[ReadingRejection, ...]) -> None:
        first = rejected[0] if rejected else None
        summary = f"readings[{first.index}]: {first.reason}" if first else "no readings"
        more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
        super().__init__(f"no reading was stored: {summary}{more}")
        self.rejected = rejected


class DeviceOwnedByAnother(PermissionError):
    """The device belongs to another user."""


class DeviceNotFound(LookupError):
    """No message of this device was ever stored."""


class TooManyDevices(Exception):
    """The caller already owns the most devices one user may have."""


class StoreUnavailable(DependencyUnavailable):
    """The store did not answer (UNAVAILABLE with the dependency trailer)."""


@dataclass(frozen=True)
class Reading:
    """One sample of one sensor (``validation.problem_of`` says what is wrong with one)."""

    name: str
    timestamp_ms: int
    values: tuple[float, ...]


@dataclass(frozen=True)
class SensorMessage:
    """One message of one device's readings, as the client sent it."""

    user_id: str
    device_id: str
    session_id: str
    message_id: str
    readings: tuple[Reading, ...]


@dataclass(frozen=True)
class ReadingRejection:
    """Why one reading was not stored; ``index`` is its position in the message."""

    index: int
    reason: str


@dataclass(frozen=True)
class IngestResult:
    """What became of a message (a duplicate gets the first answer again)."""

    accepted: int
    duplicate: bool
    rejected: tuple[ReadingRejection, ...]


@dataclass(frozen=True)
class Device:
    """A phone and the user who first posted it."""

    device_id: str
    user_id: str
    first_seen_ms: int


@dataclass(frozen=True)
class RawMessage:
    """A stored message as the raw stream holds it: its accepted readings and entry id."""

    message: SensorMessage
    entry_id: str
    ingested_ms: int


@dataclass(frozen=True)
class Features:
    """What the classifier measured over one window."""

    magnitude: float  # mean |a|, m/s² (the seed's feature)
    dynamic_rms: float  # RMS of the 0.6-5 Hz band of a, summed over axes (no gravity), m/s²
    cadence_hz: float  # dominant step periodicity; 0 when none
    periodicity: float  # 0..1: how much of the dynamic signal that periodicity explains
    rate_hz: float  # sampling rate measured from the timestamps
    samples: int
    coverage: float  # 0..1: share of the window the samples cover (gaps left out)


@dataclass(frozen=True)
class Classification:
    """A window's activity and how sure the classifier is (0 when unknown for lack of data)."""

    activity: Activity
    confidence: float


@dataclass(frozen=True)
class ActivityRecord:
    """One classified window: the seed's processed record and what was measured.

    ``owned_start_ms``/``owned_end_ms`` is the stretch of time this window speaks for on
    the timeline: consecutive windows of a session own adjacent stretches, so timelines
    and distributions count each second once although the windows overlap.
    """

    device_id: str
    user_id: str
    session_id: str
    message_id: str  # the last message whose readings the window holds
    window_start_ms: int
    window_end_ms: int  # exclusive
    owned_start_ms: int
    owned_end_ms: int
    features: Features
    activity: Activity
    confidence: float

    @property
    def window_key(self) -> str:
        """Unique per device: a replay of the same window writes the same key."""
        return window_key(self.session_id, self.window_start_ms)


def window_key(session_id: str, window_start_ms: int) -> str:
    """The key of a session's window starting at ``window_start_ms``."""
    return f"{session_id}/{window_start_ms}"


@dataclass(frozen=True)
class ActivityState:
    """A device's latest recognised activity, and since when it has lasted."""

    device_id: str
    activity: Activity
    confidence: float
    since_ms: int
    window_end_ms: int


@dataclass(frozen=True)
class Segment:
    """A stretch [start_ms, end_ms) of one activity; confidence is its windows' mean."""

    activity: Activity
    start_ms: int
    end_ms: int
    confidence: float


@dataclass(frozen=True)
class TimeRange:
    """[start_ms, end_ms) of event time."""

    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class RecordCursor:
    """Where a page of records (ordered by window end, then key) stopped."""

    window_end_ms: int
    window_key: str
