"""A bounded scan over the partition streams, merged in (entry id, partition) order."""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from services.common.redis import BlockingClient
from services.watch_logs import entries
from services.watch_logs.domain import LogFilter, ScanCursor, ScanPage, StoredLog

EntryKey = tuple[int, int]  # (milliseconds, sequence) of a stream entry id


def entry_key(entry_id: str) -> EntryKey:
    """An entry id as numbers, which order like the stream does."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass
class StreamRange:
    """One partition's part of the scan: its stream and the ids still to read."""

    index: int
    stream: str
    low_ms: int
    high: str  # XRANGE end: "<ms>" (every id of that millisecond) or "+"
    start: str = ""  # XRANGE start of the next read
    buffer: deque[tuple[str, dict[str, str]]] = field(default_factory=deque)
    done: bool = False

    def resume(self, after: ScanCursor | None) -> None:
        """Start at the range's low end, or just after the cursor in scan order."""
        self.start = f"{self.low_ms}-0"
        if after is None or entry_key(after.entry_id) < (self.low_ms, 0):
            return
        # Partitions up to the cursor's have returned its id; the later ones have not yet.
        exclusive = self.index <= after.partition
        self.start = f"({after.entry_id}" if exclusive else after.entry_id

    def take(self, reply: list[tuple[str, dict[str, str]]], chunk: int) -> None:
        """Buffer one XRANGE reply; a short reply means the range is read to its end."""
        self.buffer.extend(reply)
        if len(reply) < chunk:
            self.done = True
        else:
            self.start = f"({reply[-1][0]}"


class MergedScan:
    """Reads every range in chunks and hands out entries in (id, partition) order."""

    def __init__(
        self,
        client: BlockingClient,
        ranges: list[StreamRange],
        after: ScanCursor | None,
        chunk: int,
    ) -> None:
        self.client = client
        self.ranges = {r.index: r for r in ranges}
        self.chunk = max(1, chunk)
        self.heads: list[tuple[int, int, int]] = []  # (ms, seq, partition), a min-heap
        for r in ranges:
            r.resume(after)

    def page(self, where: LogFilter, limit: int, budget: int) -> ScanPage:
        """Matches up to ``limit``, examining at most ``budget`` entries."""
        self._fill_all()
        found: list[StoredLog] = []
        cursor: ScanCursor | None = None
        examined = 0
        while self.heads and len(found) < limit and examined < budget:
            _, _, index = heapq.heappop(self.heads)
            entry_id, fields = self.ranges[index].buffer.popleft()
            examined += 1
            cursor = ScanCursor(entry_id, index)
            stored = _parse(entry_id, fields)
            if stored is not None and where.matches(stored):
                found.append(stored)
            self._push_head(index)
        return ScanPage(tuple(found), cursor if self.heads else None)

    def _fill_all(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        for r in self.ranges.values():
            pipe.xrange(r.stream, r.start, r.high, count=self.chunk)
        for r, reply in zip(self.ranges.values(), pipe.execute(), strict=True):
            r.take(reply, self.chunk)
            self._push_head(r.index, refill=False)

    def _push_head(self, index: int, refill: bool = True) -> None:
        r = self.ranges[index]
        if not r.buffer and refill and not r.done:
            reply: Any = self.client.xrange(r.stream, r.start, r.high, count=self.chunk)
            r.take(reply, self.chunk)
        if r.buffer:
            ms, seq = entry_key(r.buffer[0][0])
            heapq.heappush(self.heads, (ms, seq, index))


def _parse(entry_id: str, fields: Any) -> StoredLog | None:
    """The entry as a StoredLog; None for one this service did not write (never returned)."""
    try:
        return entries.stored(entry_id, fields)
    except ValueError:
        return None
