"""Watch logs: what a watch sends, what the store keeps, and the domain errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from services.common.dependency import DependencyUnavailable

ACTIVITIES = frozenset({"sleep", "rest", "walking", "running", "cycling", "swimming", "workout"})
# Minutes of these count as active minutes.
ACTIVE_ACTIVITIES = frozenset({"walking", "running", "cycling", "swimming", "workout"})


class InvalidInput(ValueError):
    """A request the service refuses as malformed."""


class RangeTooLarge(InvalidInput):
    """A read would scan more entries than one call may."""


class StoreUnavailable(DependencyUnavailable):
    """The store did not answer, or could not confirm a write reached a replica.

    A DependencyUnavailable: answered UNAVAILABLE with the dependency trailer, so a Redis
    failover does not open the gateway's breakers on healthy instances (injected faults,
    which are the instance's own, still do).
    """


@dataclass(frozen=True)
class WatchLog:
    """One sample or event a watch recorded (validated by ``validation.check_log``)."""

    message_id: str
    device_id: str
    device_model: str
    firmware: str
    timestamp: datetime
    activity: str
    duration_s: int
    steps: int
    heart_rate: int  # 0: not measured
    calories: float
    distance_m: float
    floors: int
    battery: int


@dataclass(frozen=True)
class StoredLog:
    """A log as stored: its owner, the log, and the stream entry the store gave it."""

    user_id: str
    log: WatchLog
    entry_id: str
    ingested_at: datetime


@dataclass(frozen=True)
class Rejection:
    """Why the entry at ``index`` of a batch was not stored."""

    index: int
    message_id: str
    reason: str


@dataclass(frozen=True)
class IngestResult:
    """What one batch did: stored, already stored (retries), refused."""

    accepted: int
    duplicates: int
    rejected: tuple[Rejection, ...] = ()


@dataclass(frozen=True)
class LogFilter:
    """Which entries a read covers; None does not filter. Times: samples in [start, end)."""

    start: datetime
    end: datetime
    user_id: str | None = None
    device_id: str | None = None
    activity: str | None = None

    def matches(self, stored: StoredLog) -> bool:
        """Whether the entry passes every filter given."""
        log = stored.log
        return (
            self.start <= log.timestamp < self.end
            and self.user_id in (None, stored.user_id)
            and self.device_id in (None, log.device_id)
            and self.activity in (None, log.activity)
        )


@dataclass(frozen=True)
class ScanCursor:
    """Where a scan over the partition streams resumes: after this entry of this partition.

    The scan orders entries by (entry id, partition), so one cursor resumes every stream.
    """

    entry_id: str
    partition: int


@dataclass(frozen=True)
class ScanPage:
    """Entries a bounded scan found, and where it stopped (None: the range is done)."""

    logs: tuple[StoredLog, ...]
    next_cursor: ScanCursor | None


class BucketWidth(Enum):
    """Width of a rollup bucket."""

    HOUR = timedelta(hours=1)
    DAY = timedelta(days=1)


@dataclass(frozen=True)
class Rollup:
    """One user's entries in one bucket, rolled up."""

    user_id: str
    start: datetime
    samples: int
    steps: int
    active_minutes: float
    calories: float
    distance_m: float
    floors: int
    mean_heart_rate: float
    max_heart_rate: int
    battery_drain: int


@dataclass(frozen=True)
class DailySummary:
    """A user's day as the reporting consumer group counted it."""

    day: date
    samples: int
    steps: int
    active_minutes: float
    calories: float
    distance_m: float
    floors: int
    mean_heart_rate: float
    max_heart_rate: int


@dataclass(frozen=True)
class StreamStatus:
    """One partition stream: length, consumer-group lag, pending and dead-lettered entries."""

    stream: str
    length: int
    lag: int
    pending: int
    dead_letters: int
