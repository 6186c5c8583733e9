"""Timelines and distributions from processed records. Pure.

Each record owns a stretch of time (``owned_start_ms``..``owned_end_ms``): consecutive
windows of a session own adjacent stretches, so merging them counts every second once
although the windows overlap. Consecutive records of one activity whose stretches touch
or overlap become one segment; a gap, or another activity, starts a new one. Records must
come by owned start (``segments`` sorts them; the service's timeline pages feed them
through ``service.in_owned_order``). Segments never overlap: a stretch that begins inside
the previous segment (another session of the same device) is cut to begin where that
segment ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.motion.domain import Activity, ActivityRecord, Segment, TimeRange


@dataclass
class _Open:
    """The segment being built: its activity, stretch and confidences so far."""

    activity: Activity
    start_ms: int
    end_ms: int
    confidence_sum: float
    windows: int

    def closed(self) -> Segment:
        """The finished segment; confidence is its windows' mean."""
        mean = self.confidence_sum / self.windows
        return Segment(self.activity, self.start_ms, self.end_ms, mean)


class Merger:
    """Turns records (in time order) into segments clipped to ``within``."""

    def __init__(self, within: TimeRange) -> None:
        self.within = within
        self._open: _Open | None = None
        self._covered_to = within.start_ms  # nothing before this is emitted again

    def add(self, record: ActivityRecord) -> list[Segment]:
        """Take one record; the segments it closed (zero or one)."""
        start = max(record.owned_start_ms, self._covered_to, self.within.start_ms)
        end = min(record.owned_end_ms, self.within.end_ms)
        if end <= start:
            return []  # outside the range, or already covered
        current = self._open
        if current and current.activity == record.activity and start <= current.end_ms:
            current.end_ms = max(current.end_ms, end)
            current.confidence_sum += record.confidence
            current.windows += 1
            return []
        if current and start < current.end_ms:
            start = current.end_ms  # another activity, overlapping: it begins after
            if end <= start:
                return []
        closed = self.flush()
        self._open = _Open(record.activity, start, end, record.confidence, 1)
        return closed

    def flush(self) -> list[Segment]:
        """Close the open segment, if any."""
        if self._open is None:
            return []
        segment = self._open.closed()
        self._covered_to = max(self._covered_to, segment.end_ms)
        self._open = None
        return [segment]

    @property
    def open_end_ms(self) -> int | None:
        """Where the open segment ends so far (None when there is none)."""
        return self._open.end_ms if self._open else None


def segments(records: Iterable[ActivityRecord], within: TimeRange) -> list[Segment]:
    """Every segment of the records (sorted by their stretch) within the range."""
    merger = Merger(within)
    found: list[Segment] = []
    for record in sorted(records, key=lambda r: (r.owned_start_ms, r.owned_end_ms)):
        found.extend(merger.add(record))
    return found + merger.flush()


def distribution(found: Iterable[Segment]) -> dict[Activity, float]:
    """Seconds per activity (all of them, zero included, in declaration order)."""
    seconds = dict.fromkeys(Activity, 0.0)
    for segment in found:
        seconds[segment.activity] += (segment.end_ms - segment.start_ms) / 1000
    return seconds
