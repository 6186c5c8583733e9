"""The storage port of the watch-log service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from services.watch_logs.domain import (
    DailySummary,
    LogFilter,
    ScanCursor,
    ScanPage,
    StreamStatus,
    WatchLog,
)


class WatchLogStore(Protocol):
    """Where logs live (Redis Streams on one node or a cluster; a fake in unit tests)."""

    def append(self, user_id: str, logs: Sequence[WatchLog], now: datetime) -> list[bool]:
        """Store one user's valid logs atomically; per log, False if its message id was seen.

        Raises StoreUnavailable when the write cannot be made or confirmed on a replica.
        """
        ...

    def scan(self, where: LogFilter, after: ScanCursor | None, limit: int, budget: int) -> ScanPage:
        """Up to ``limit`` matching logs after the cursor, examining at most ``budget``."""
        ...

    def daily_summaries(self, user_id: str, first: date, last: date) -> list[DailySummary]:
        """The consumer group's summaries of the user's days in [first, last]."""
        ...

    def status(self) -> list[StreamStatus]:
        """Every partition stream's state."""
        ...
