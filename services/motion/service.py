"""Motion use cases: ingest a device's message, list devices, read what was recognised."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from services.common.timeutil import Clock, utc_now
from services.motion import timeline
from services.motion.domain import (
    Activity,
    ActivityRecord,
    ActivityState,
    Device,
    DeviceNotFound,
    DeviceOwnedByAnother,
    IngestResult,
    InvalidInput,
    NothingToStore,
    Reading,
    ReadingRejection,
    RecordCursor,
    Segment,
    SensorMessage,
    TimeRange,
)
from services.motion.repository import MotionStore
from services.motion.validation import Window, check_count, check_id, problem_of

DEFAULT_SPAN_MS = 24 * 3_600_000
MAX_SPAN_MS = 7 * 24 * 3_600_000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# The longest window the processor may be configured with (ProcessorSettings.window_ms):
# a record owning time before ``to`` ends at most this much after it.
MAX_WINDOW_MS = 60_000
SCAN_CHUNK = 1000
# A scan stops with this much of the call's deadline left: a page cut short beats a
# thread that keeps decoding after its caller has given up (the pool serves ingest too).
SCAN_RESERVE_SECONDS = 0.3


def unbounded() -> float:
    """No deadline: the time left of a call made outside gRPC (tests, tools)."""
    return math.inf


@dataclass(frozen=True)
class Limits:
    """What the service accepts and how much one read may scan."""

    max_devices: int = 10
    max_readings: int = 1000
    max_reading_age_ms: int = 24 * 3_600_000
    max_clock_skew_ms: int = 300_000
    timeline_budget: int = 20_000  # records one timeline page reads at most
    distribution_budget: int = 100_000  # records one distribution reads at most


def now_ms_of(clock: Clock) -> int:
    """The clock's time in milliseconds since the epoch."""
    return int(clock().timestamp() * 1000)


@dataclass(frozen=True)
class MotionDeps:
    """What the use cases need."""

    store: MotionStore
    limits: Limits = field(default_factory=Limits)
    clock: Clock = utc_now
    time_left: Callable[[], float] = unbounded  # seconds left of the call being served


@dataclass(frozen=True)
class DeviceRef:
    """Who reads which device; ``any_owner`` is set for admins only (by the gateway)."""

    user_id: str
    device_id: str
    any_owner: bool = False


def ingest(deps: MotionDeps, message: SensorMessage) -> IngestResult:
    """Store the message's valid readings as one entry, once per message id."""
    for name in ("user_id", "device_id", "session_id", "message_id"):
        check_id(name, getattr(message, name))
    check_count(message.readings, deps.limits.max_readings)
    now = now_ms_of(deps.clock)
    window = Window(now, deps.limits.max_reading_age_ms, deps.limits.max_clock_skew_ms)
    valid, rejected = _sort_out(message.readings, window)
    if not valid:
        raise NothingToStore(tuple(rejected))
    # Claimed before storing: a message of another user's device is refused whole.
    deps.store.claim_device(message.user_id, message.device_id, deps.limits.max_devices, now)
    kept = SensorMessage(
        message.user_id, message.device_id, message.session_id, message.message_id, tuple(valid)
    )
    return deps.store.append(kept, IngestResult(len(valid), False, tuple(rejected)), now)


def _sort_out(
    readings: tuple[Reading, ...], window: Window
) -> tuple[list[Reading], list[ReadingRejection]]:
    """The readings that may be stored, and why each other one may not."""
    valid, rejected = [], []
    for index, reading in enumerate(readings):
        reason = problem_of(reading, window)
        if reason is None:
            valid.append(reading)
        else:
            rejected.append(ReadingRejection(index, reason))
    return valid, rejected


def list_devices(deps: MotionDeps, user_id: str) -> list[Device]:
    """The user's devices, most recently first seen first."""
    check_id("user_id", user_id)
    return deps.store.devices_of(user_id)


def readable_device(deps: MotionDeps, ref: DeviceRef) -> Device:
    """The device if the caller may read it: its owner, or anyone when ``any_owner``."""
    check_id("user_id", ref.user_id)
    check_id("device_id", ref.device_id)
    device = deps.store.device(ref.device_id)
    if device is None:
        raise DeviceNotFound(f"device {ref.device_id} not found")
    if device.user_id != ref.user_id and not ref.any_owner:
        raise DeviceOwnedByAnother(f"device {ref.device_id} belongs to another user")
    return device


def current_activity(deps: MotionDeps, ref: DeviceRef) -> ActivityState | None:
    """The device's latest recognised activity; None before any window."""
    readable_device(deps, ref)
    return deps.store.current(ref.device_id)


def time_range(deps: MotionDeps, start_ms: int | None, end_ms: int | None) -> TimeRange:
    """[start, end): end defaults to now, start to 24 hours before end; at most 7 days."""
    end = now_ms_of(deps.clock) if end_ms is None else end_ms
    start = end - DEFAULT_SPAN_MS if start_ms is None else start_ms
    if start >= end:
        raise InvalidInput("from must be before to")
    if end - start > MAX_SPAN_MS:
        raise InvalidInput("a range spans at most 7 days")
    return TimeRange(start, end)


def page_size_of(page_size: int) -> int:
    """1-1000; 0 means the default."""
    if not 0 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return page_size or DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class TimelinePage:
    """Segments in time order; ``resume_ms`` is where the next page starts (None: done)."""

    segments: list[Segment]
    resume_ms: int | None


def activity_timeline(
    deps: MotionDeps, ref: DeviceRef, span: TimeRange, page_size: int, resume_ms: int | None
) -> TimelinePage:
    """One page of segments, starting at ``resume_ms`` (a previous page's) or the range's start."""
    readable_device(deps, ref)
    size = page_size_of(page_size)
    start = span.start_ms if resume_ms is None else max(span.start_ms, resume_ms)
    if start >= span.end_ms:
        return TimelinePage([], None)
    within = TimeRange(start, span.end_ms)
    scan = _Scan(deps.store, ref.device_id, within, deps.limits.timeline_budget, deps.time_left)
    merger = timeline.Merger(within)
    found: list[Segment] = []
    for record in in_owned_order(scan):
        found.extend(merger.add(record))
        if len(found) > size:
            return TimelinePage(found[:size], found[size - 1].end_ms)
    found.extend(merger.flush())
    if len(found) > size:
        return TimelinePage(found[:size], found[size - 1].end_ms)
    if scan.finished:
        return TimelinePage(found, None)
    # The scan budget ran out: the page ends where the records read so far end.
    return TimelinePage(found, found[-1].end_ms if found else scan.last_end_ms)


def activity_distribution(
    deps: MotionDeps, ref: DeviceRef, span: TimeRange
) -> dict[Activity, float]:
    """Seconds per activity within the range; InvalidInput if it holds too many records."""
    readable_device(deps, ref)
    scan = _Scan(deps.store, ref.device_id, span, deps.limits.distribution_budget, deps.time_left)
    found = timeline.segments(scan, span)
    if not scan.finished:
        raise InvalidInput("the range holds too many records to add up; narrow it")
    return timeline.distribution(found)


def activity_records(
    deps: MotionDeps, ref: DeviceRef, span: TimeRange, page_size: int, after: RecordCursor | None
) -> tuple[list[ActivityRecord], RecordCursor | None]:
    """One page of records by window end, and the cursor of the next (None: done)."""
    readable_device(deps, ref)
    size = page_size_of(page_size)
    found = deps.store.records(ref.device_id, span, after, size + 1)
    if len(found) <= size:
        return found, None
    last = found[size - 1]
    return found[:size], RecordCursor(last.window_end_ms, last.window_key)


def in_owned_order(records: Iterable[ActivityRecord]) -> Iterator[ActivityRecord]:
    """Records by owned start, from records by window end (a device's overlapping sessions
    interleave): a stretch starts at most MAX_WINDOW_MS before its window ends."""
    held: list[tuple[int, int, str, ActivityRecord]] = []
    for record in records:
        heapq.heappush(
            held, (record.owned_start_ms, record.owned_end_ms, record.window_key, record)
        )
        while held and held[0][0] <= record.window_end_ms - MAX_WINDOW_MS:
            yield heapq.heappop(held)[3]
    while held:
        yield heapq.heappop(held)[3]


class _Scan:
    """The records of a device whose stretch may lie in ``within``, chunk by chunk, bounded."""

    def __init__(
        self,
        store: MotionStore,
        device_id: str,
        within: TimeRange,
        budget: int,
        time_left: Callable[[], float],
    ):
        self.store = store
        self.time_left = time_left
        self.device_id = device_id
        # A window ends at most MAX_WINDOW_MS after the time it owns.
        self.ends = TimeRange(within.start_ms, within.end_ms + MAX_WINDOW_MS)
        self.budget = budget
        self.finished = False
        self.last_end_ms = within.start_ms

    def __iter__(self) -> Iterator[ActivityRecord]:
        after: RecordCursor | None = None
        read = 0
        # The first chunk is read whatever the time: each page moves on.
        while read < self.budget and (read == 0 or self.time_left() > SCAN_RESERVE_SECONDS):
            wanted = min(SCAN_CHUNK, self.budget - read)
            chunk = self.store.records(self.device_id, self.ends, after, wanted)
            read += len(chunk)
            yield from chunk
            if len(chunk) < wanted:
                self.finished = True
                return
            after = RecordCursor(chunk[-1].window_end_ms, chunk[-1].window_key)
            self.last_end_ms = chunk[-1].window_end_ms
