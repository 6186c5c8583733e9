"""Which partitions a worker holds: leases renewed, a fair share kept, the rest let go.

Each live worker (a heartbeat within one lease period) holds about
``ceil(partitions / live workers)``: it takes free leases up to that share and releases
what is beyond it, so 1..N workers on one machine or many divide the partitions.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

from services.motion.keys import Partition, Partitions
from services.motion.processor.ports import ProcessorStore


def fair_share(partitions: int, live_workers: int) -> int:
    """How many partitions one of ``live_workers`` should hold."""
    return math.ceil(partitions / max(1, live_workers))


@dataclass(frozen=True)
class Change:
    """What one rebalance did: partitions newly held, and those no longer held."""

    gained: tuple[Partition, ...]
    dropped: tuple[Partition, ...]


@dataclass
class LeaseKeeper:
    """One worker's leases (its ``token`` is unique to this process)."""

    store: ProcessorStore
    partitions: Partitions
    worker: str
    token: str
    lease_ms: int
    held: dict[int, Partition] = field(default_factory=dict)

    def rebalance(self, now_ms: int) -> Change:
        """Renew what is held, beat, then take or release leases toward the fair share."""
        dropped = [p for p in list(self.held.values()) if not self._renewed(p)]
        live = self.store.beat(self.worker, now_ms, self.lease_ms)
        share = fair_share(self.partitions.count, live)
        for part in sorted(self.held.values(), key=lambda p: p.index)[share:]:
            self.release(part)
            dropped.append(part)
        return Change(self._acquire(share), tuple(dropped))

    def _renewed(self, part: Partition) -> bool:
        """Renew one lease; forget it if it was lost."""
        if self.store.renew(part, self.token, self.lease_ms):
            return True
        del self.held[part.index]
        return False

    def _acquire(self, share: int) -> tuple[Partition, ...]:
        """Free leases taken until the share is held (starting at a worker-specific index)."""
        count = self.partitions.count
        first = zlib.crc32(self.worker.encode()) % count
        gained: list[Partition] = []
        for step in range(count):
            if len(self.held) >= share:
                break
            part = self.partitions.all[(first + step) % count]
            if part.index not in self.held and self.store.acquire(part, self.token, self.lease_ms):
                self.held[part.index] = part
                gained.append(part)
        return tuple(gained)

    def release(self, part: Partition) -> None:
        """Give one lease up."""
        self.held.pop(part.index, None)
        self.store.release(part, self.token)

    def lose(self, part: Partition) -> None:
        """Forget a lease found lost (a fenced write said so)."""
        self.held.pop(part.index, None)

    def release_all(self) -> None:
        """Give every lease up (a graceful stop: the next holder rebuilds at once)."""
        for part in list(self.held.values()):
            self.release(part)
