"""A processor worker: the partitions it leases, each with its own window engine.

Per round and held partition: read new raw entries (fenced by the lease), window them,
write the windows that closed in one fenced script, publish changes of activity, then ack
the entries whose windows have all been written. A partition just acquired first takes
over every entry pending in the group (a crashed worker's) and replays them in id order:
they rebuild the windows that were not emitted; those that were are written once only.
Any failure on a partition drops its windows and rebuilds them from the pending entries.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from services.common.notifications import channel
from services.common.redis import REDIS_FAILURES
from services.common.timeutil import format_time
from services.motion.domain import ActivityRecord
from services.motion.keys import Partition, Partitions
from services.motion.processor.decode import UNREADABLE, chunk_of
from services.motion.processor.leases import LeaseKeeper
from services.motion.processor.metrics import ProcessorMetrics
from services.motion.processor.ports import Emitted, ProcessorStore, RawEntry
from services.motion.windows import WindowEngine, WindowSpec

log = logging.getLogger(__name__)


def wall_ms() -> int:
    """Now, in ms since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs of ProcessorSettings."""

    spec: WindowSpec
    partitions: int
    lease_ms: int
    batch: int
    poll_idle_seconds: float


@dataclass
class Owned:
    """A held partition and its open windows; ``fresh``: pending entries still to replay,
    from ``claim_from`` on."""

    part: Partition
    engine: WindowEngine
    fresh: bool = True
    claim_from: str = "0-0"


class Worker:
    """One worker's loop over the partitions it holds."""

    def __init__(
        self,
        store: ProcessorStore,
        config: WorkerConfig,
        name: str,
        token: str,
        metrics: ProcessorMetrics,
        clock_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self.store = store
        self.config = config
        self.metrics = metrics
        self.clock_ms = clock_ms
        self.leases = LeaseKeeper(
            store, Partitions(config.partitions), name, token, config.lease_ms
        )
        self.owned: dict[int, Owned] = {}
        self._next_rebalance = 0

    def run_until(self, stop: threading.Event) -> None:
        """Run rounds until ``stop`` is set, then give every lease up."""
        while not stop.is_set():
            try:
                handled = self.run_once()
            except REDIS_FAILURES as error:
                log.warning("processor round failed", extra={"error": str(error)})
                handled = 0
            if handled == 0:
                stop.wait(self.config.poll_idle_seconds)
        try:
            self.leases.release_all()
        except REDIS_FAILURES as error:  # the leases then run out on their own
            log.warning("leases not released", extra={"error": str(error)})

    def run_once(self) -> int:
        """One round over the held partitions (rebalancing when due); entries handled."""
        self._rebalance_if_due()
        handled = 0
        for owned in list(self.owned.values()):
            if self._rebalance_if_due() and owned.part.index not in self.owned:
                continue  # a long round must not outlast its leases: renewed in between
            try:
                handled += self.round(owned)
            except REDIS_FAILURES as error:  # rebuilt from the pending entries next round
                log.warning(
                    "partition round failed",
                    extra={"partition": owned.part.index, "error": str(error)},
                )
                self._reset(owned)
            except Exception:  # a bug or a reply it cannot read: the other partitions go on
                log.exception("partition round broke", extra={"partition": owned.part.index})
                self._reset(owned)
        return handled

    def _rebalance_if_due(self) -> bool:
        """Rebalance every third of a lease period; whether it did now."""
        now = self.clock_ms()
        if now < self._next_rebalance:
            return False
        self._next_rebalance = now + self.config.lease_ms // 3
        self.rebalance(now)
        return True

    def rebalance(self, now_ms: int) -> None:
        """Renew, take and release leases; report held partitions and their lag."""
        change = self.leases.rebalance(now_ms)
        for part in change.dropped:
            self.owned.pop(part.index, None)
        for part in change.gained:
            self.owned[part.index] = Owned(part, WindowEngine(self.config.spec))
        if change.gained or change.dropped:
            log.info(
                "partitions changed",
                extra={
                    "gained": [p.index for p in change.gained],
                    "dropped": [p.index for p in change.dropped],
                    "held": sorted(self.owned),
                },
            )
        self.metrics.partitions.set(len(self.owned))
        for owned in self.owned.values():
            lag = self.store.lag(owned.part)
            if lag is not None:
                self.metrics.lag.labels(str(owned.part.index)).set(lag)

    def round(self, owned: Owned) -> int:
        """Replay pending entries (once, after acquiring) or read new ones; flush windows."""
        token = self.leases.token
        was_fresh = owned.fresh
        if was_fresh:
            entries = self._claim(owned)
        else:
            entries = self.store.read_new(owned.part, token, self.config.batch)
        if entries is None:
            self._lost(owned)
            return 0
        caught_up = not was_fresh and len(entries) < self.config.batch
        self.feed(owned, entries)
        self.flush(owned, caught_up)
        return len(entries)

    def _claim(self, owned: Owned) -> list[RawEntry] | None:
        """The next batch of the partition's pending entries; fresh no more after the last."""
        claimed = self.store.claim_pending(
            owned.part, self.leases.token, self.config.batch, owned.claim_from
        )
        if claimed is None:
            return None
        entries, owned.claim_from = claimed
        owned.fresh = owned.claim_from != "0-0"
        self.metrics.claimed.inc(len(entries))
        return entries

    def feed(self, owned: Owned, entries: Sequence[RawEntry]) -> None:
        """Window each entry's readings; unreadable entries go to dead letters."""
        now, poison = self.clock_ms(), []
        for entry in entries:
            try:
                chunk = chunk_of(entry.entry_id, entry.fields)
            except UNREADABLE:
                poison.append(entry.entry_id)
                continue
            if self.leases.partitions.index_of(chunk.device_id) != owned.part.index:
                poison.append(entry.entry_id)  # its keys are in another slot: never writable
                continue
            late = owned.engine.add(chunk, now)
            self.metrics.readings.inc(len(chunk.timestamps_ms) - late)
            self.metrics.late.inc(late)
        if poison:
            dead = self.store.dead_letter(owned.part, poison, "unreadable")
            self.metrics.dead_lettered.inc(dead)

    def flush(self, owned: Owned, caught_up: bool = True) -> None:
        """Write the windows that closed, publish activity changes, ack what is done."""
        closed = owned.engine.close_due(self.clock_ms(), caught_up)
        outcomes = self.store.emit(owned.part, self.leases.token, closed.records, self.clock_ms())
        if outcomes is None:
            self._lost(owned)
            return
        for record, outcome in zip(closed.records, outcomes, strict=True):
            self._count(record, outcome)
        if closed.ackable:
            self.store.ack(owned.part, closed.ackable)

    def _count(self, record: ActivityRecord, outcome: Emitted) -> None:
        """Metrics of one written window; its change of activity published."""
        if outcome is Emitted.REPLAYED:
            self.metrics.replayed.inc()
            return
        self.metrics.windows.labels(record.activity.value).inc()
        if outcome is Emitted.CHANGED:
            self.store.publish(channel(record.user_id), activity_changed(record))

    def _lost(self, owned: Owned) -> None:
        """The lease went to another worker: drop the partition and its windows."""
        log.warning("partition lease lost", extra={"partition": owned.part.index})
        self.leases.lose(owned.part)
        self.owned.pop(owned.part.index, None)

    def _reset(self, owned: Owned) -> None:
        """Forget the partition's windows; rebuild them from its pending entries."""
        owned.engine = WindowEngine(self.config.spec)
        owned.fresh, owned.claim_from = True, "0-0"


def activity_changed(record: ActivityRecord) -> str:
    """The ``activity_changed`` event on the owner's notifications channel."""
    return json.dumps(
        {
            "type": "activity_changed",
            "device_id": record.device_id,
            "session_id": record.session_id,
            "activity": record.activity.value,
            "confidence": record.confidence,
            "since": format_time(_moment(record.owned_start_ms)),
            "window_end": format_time(_moment(record.window_end_ms)),
        }
    )


def _moment(ms: int) -> datetime:
    """A time in ms since the epoch, in UTC."""
    return datetime.fromtimestamp(ms / 1000, UTC)
