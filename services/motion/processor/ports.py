"""The processor's storage port: leases, raw entries, emission (Redis; see redis_adapter)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from services.motion.domain import ActivityRecord
from services.motion.keys import Partition


@dataclass(frozen=True)
class RawEntry:
    """One entry of a partition's raw stream, as read by the processor group."""

    entry_id: str
    fields: Mapping[str, str]


class Emitted(IntEnum):
    """What writing one closed window did."""

    REPLAYED = 0  # already written by an earlier attempt: nothing changed
    WRITTEN = 1
    CHANGED = 2  # written, and the device's current activity changed


class ProcessorStore(Protocol):
    """What a worker needs from the store, for one partition at a time."""

    def beat(self, worker: str, now_ms: int, live_ms: int) -> int:
        """Record this worker's heartbeat; how many workers beat within ``live_ms``."""
        ...

    def acquire(self, part: Partition, token: str, lease_ms: int) -> bool:
        """Take the partition's lease if nobody holds it."""
        ...

    def renew(self, part: Partition, token: str, lease_ms: int) -> bool:
        """Extend the lease if it is still ``token``'s; False if it was lost."""
        ...

    def release(self, part: Partition, token: str) -> None:
        """Give the lease up if it is still ``token``'s."""
        ...

    def claim_pending(
        self, part: Partition, token: str, count: int, start: str
    ) -> tuple[list[RawEntry], str] | None:
        """Up to ``count`` entries pending in the group (any consumer's) from ``start`` on,
        now this worker's, by id, and where the next claim starts ("0-0": none is left);
        None if the lease is not ``token``'s (checked with each claim, in one script).

        One call per round: a long pending list (a worker that held a partition with a
        stuck session) must not make one round outlast the lease.
        """
        ...

    def read_new(self, part: Partition, token: str, count: int) -> list[RawEntry] | None:
        """Up to ``count`` entries never delivered to the group; None if the lease is not
        ``token``'s (a worker that lost a partition must not take entries from its holder)."""
        ...

    def emit(
        self, part: Partition, token: str, records: Sequence[ActivityRecord], now_ms: int
    ) -> list[Emitted] | None:
        """Write the windows (idempotent per window key); None if the lease was lost."""
        ...

    def publish(self, channel: str, message: str) -> None:
        """Publish on a notifications channel."""
        ...

    def ack(self, part: Partition, entry_ids: Sequence[str]) -> int:
        """Acknowledge raw entries; how many were still pending."""
        ...

    def dead_letter(self, part: Partition, entry_ids: Sequence[str], reason: str) -> int:
        """Move unreadable entries to the partition's dead-letter stream (and ack them)."""
        ...

    def lag(self, part: Partition) -> int | None:
        """Entries of the raw stream the group has not read yet; None if Redis cannot tell
        (before Redis 7, counting them would mean reading them)."""
        ...
