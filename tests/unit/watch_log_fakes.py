"""FakeWatchLogStore: the WatchLogStore in memory, with the Redis store's semantics.

Same partitions, entry ids from the ingest time, message-id dedup for max_sample_age,
retention trimmed on append, scans in (entry id, partition) order with the same cursor
and budget rules; ``consume()`` plays the reporting consumer group. The contract tests in
tests/integration/test_watch_log_store.py run the same assertions on it and on Redis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from services.watch_logs import entries, summaries
from services.watch_logs.domain import (
    DailySummary,
    LogFilter,
    ScanCursor,
    ScanPage,
    StoredLog,
    StoreUnavailable,
    StreamStatus,
    WatchLog,
)
from services.watch_logs.partitions import Partitions

Key = tuple[int, int, int]  # (ms, seq, partition): the scan order


def _millis(moment: datetime) -> int:
    return max(0, int(moment.timestamp() * 1000))


def _shifted(moment: datetime, by: timedelta, beyond: int) -> int:
    """Milliseconds of ``moment + by``; ``beyond`` when that is outside datetime's range."""
    try:
        return _millis(moment + by)
    except OverflowError:
        return beyond


@dataclass
class _Stream:
    entries: list[StoredLog] = field(default_factory=list)
    consumed: int = 0  # entries the fake consumer group has counted (a prefix)


class FakeWatchLogStore:
    """In-memory WatchLogStore; set ``unavailable`` to make every call fail as an outage."""

    def __init__(
        self,
        partitions: int = 16,
        retention: timedelta = timedelta(days=7),
        max_sample_age: timedelta = timedelta(hours=24),
        max_clock_skew: timedelta = timedelta(seconds=300),
    ) -> None:
        self.partitions = Partitions(partitions)
        self.retention = retention
        self.max_sample_age = max_sample_age
        self.max_clock_skew = max_clock_skew
        self.streams = {p.index: _Stream() for p in self.partitions.all}
        self.seen: dict[tuple[str, str], datetime] = {}  # (user, message id) -> expiry
        self.days: dict[tuple[str, date], dict[str, str]] = {}
        self.unavailable = False
        self.appended_batches = 0

    def _check(self) -> None:
        if self.unavailable:
            raise StoreUnavailable("the fake store is down")

    def append(self, user_id: str, logs: Sequence[WatchLog], now: datetime) -> list[bool]:
        """Store the logs not seen within max_sample_age + skew; trim what retention dropped."""
        self._check()
        self.appended_batches += 1
        stream = self.streams[self.partitions.index_of(user_id)]
        ms, seq = _millis(now), -1
        if stream.entries:
            last_ms, last_seq = map(int, stream.entries[-1].entry_id.split("-"))
            if last_ms >= ms:
                ms, seq = last_ms, last_seq
        flags = []
        for log in logs:
            key = (user_id, log.message_id)
            if key in self.seen and self.seen[key] > now:
                flags.append(False)
                continue
            self.seen[key] = now + self.max_sample_age + self.max_clock_skew
            seq += 1
            entry_id = f"{ms}-{seq}"
            ingested = datetime.fromtimestamp(ms / 1000, UTC)
            stream.entries.append(StoredLog(user_id, log, entry_id, ingested))
            flags.append(True)
        self._trim(stream, _millis(now) - int(self.retention.total_seconds() * 1000))
        return flags

    @staticmethod
    def _trim(stream: _Stream, min_ms: int) -> None:
        keep = [s for s in stream.entries if entries.entry_millis(s.entry_id) >= min_ms]
        dropped = len(stream.entries) - len(keep)
        stream.entries = keep
        stream.consumed = max(0, stream.consumed - dropped)

    def scan(self, where: LogFilter, after: ScanCursor | None, limit: int, budget: int) -> ScanPage:
        """The matches after the cursor in (entry id, partition) order, within the budget."""
        self._check()
        low = _shifted(where.start, -self.max_clock_skew, 0)
        high = _shifted(where.end, self.max_sample_age, 2**63)
        indexes = [self.partitions.index_of(where.user_id)] if where.user_id else list(self.streams)
        candidates = sorted(
            (_key(s.entry_id, i), s)
            for i in indexes
            for s in self.streams[i].entries
            if low <= entries.entry_millis(s.entry_id) <= high
        )
        if after is not None:
            start = _key(after.entry_id, after.partition)
            candidates = [(k, s) for k, s in candidates if k > start]
        found: list[StoredLog] = []
        cursor: ScanCursor | None = None
        for examined, (key, stored) in enumerate(candidates):
            if len(found) >= limit or examined >= budget:
                return ScanPage(tuple(found), cursor)
            cursor = ScanCursor(stored.entry_id, key[2])
            if where.matches(stored):
                found.append(stored)
        return ScanPage(tuple(found), None)

    def consume(self) -> int:
        """Count every entry not counted yet into its day (the consumer group's job)."""
        self._check()
        counted = 0
        for stream in self.streams.values():
            for stored in stream.entries[stream.consumed :]:
                fields = dict(
                    zip(entries.FIELDS, entries.encode(stored.user_id, stored.log), strict=True)
                )
                step = summaries.increment(fields)
                summaries.add(self.days.setdefault((step.user_id, step.day), {}), step)
                counted += 1
            stream.consumed = len(stream.entries)
        return counted

    def daily_summaries(self, user_id: str, first: date, last: date) -> list[DailySummary]:
        """The counted days of the user in [first, last]."""
        self._check()
        return [
            summaries.summary(day, counters)
            for (user, day), counters in sorted(self.days.items())
            if user == user_id and first <= day <= last
        ]

    def status(self) -> list[StreamStatus]:
        """Every partition: length, entries not consumed yet, nothing pending or dead."""
        self._check()
        return [
            StreamStatus(p.stream, len(s.entries), len(s.entries) - s.consumed, 0, 0)
            for p, s in zip(self.partitions.all, self.streams.values(), strict=True)
        ]


def _key(entry_id: str, partition: int) -> Key:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq), partition
