"""A sink worker: copies the motion streams into the warehouse, each row once.

Each sink is a consumer group over one stream of every partition (``raw-sink`` over the
raw streams, ``processed-sink`` over the processed ones), so each has its own checkpoint:
the group's position and pending list. A round reads a batch from every partition
(entries a dead worker left pending first, taken over with XAUTOCLAIM), inserts their rows
in one transaction (``ON CONFLICT DO NOTHING``) and acks the entries only after the commit.
A crash anywhere before the ack redelivers the entries and the insert adds nothing twice:
at-least-once delivery and idempotent rows.

When the warehouse does not answer, the batch is held, unacked, and retried with a
doubling backoff; nothing else is read meanwhile, so this worker delivers no entry again
for an outage. (With several sink workers, another one may take a held batch over once it
has been pending ``claim_idle_seconds``: an outage longer than ``max_deliveries`` of those
can dead-letter entries, which stay in the dead-letter stream to be replayed.) Entries
that cannot become rows (``rows.Unreadable``), or whose rows PostgreSQL refuses, go to the
dead-letter stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from redis.exceptions import ResponseError

from services.common.redis import REDIS_FAILURES, BlockingClient
from services.common.streams import ConsumerGroup, Delivery
from services.motion.keys import Partition, Partitions, dead_letters
from services.motion.sink.metrics import GroupStatus, SinkMetrics
from services.motion.sink.rows import Kind, Row, Unreadable
from services.motion.warehouse import MotionWarehouse

log = logging.getLogger(__name__)
# Rows one transaction holds at most: a backlog is drained in bounded batches.
MAX_ROWS = 50_000
MAX_BACKOFF = 30.0
# On Redis < 7 XINFO GROUPS has no lag: the unread entries are counted, up to this many.
LAG_COUNT_CAP = 1000
# Names of consumers silent this long with nothing pending are dropped at start.
FORGET_AFTER_MS = 3_600_000


class WarehouseUnavailable(Exception):
    """The warehouse did not take a batch (down, restarting, a timeout): retry later."""


@dataclass
class Batch:
    """Entries read in one round for one sink, their rows, and how far they got."""

    kind: Kind
    entries: list[tuple[Delivery, list[Row]]] = field(default_factory=list)
    written: bool = False  # committed; only the acks remain

    @property
    def rows(self) -> list[Row]:
        """Every row of the batch, entry by entry."""
        return [row for _, rows in self.entries for row in rows]

    def ids_by_stream(self) -> dict[str, list[str]]:
        """The entry ids to ack, per stream."""
        ids: dict[str, list[str]] = {}
        for delivery, _ in self.entries:
            ids.setdefault(delivery.stream, []).append(delivery.entry_id)
        return ids


@dataclass
class SinkConfig:
    """What a worker reads, how much, and when it takes over or gives up on an entry."""

    partitions: int = 16
    batch: int = 500  # entries per stream per round
    claim_idle_seconds: float = 30.0
    max_deliveries: int = 5
    poll_idle_seconds: float = 0.2


class Sink:
    """One consumer of each sink's group, writing into one warehouse."""

    def __init__(
        self,
        client: BlockingClient,
        warehouse: MotionWarehouse,
        kinds: tuple[Kind, ...],
        consumer: str,
        config: SinkConfig,
        metrics: SinkMetrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.warehouse = warehouse
        self.kinds = kinds
        self.config = config
        self.metrics = metrics
        self.clock = clock
        self.partitions = Partitions(config.partitions).all
        self.groups = {
            kind.name: ConsumerGroup(
                client,
                kind.group,
                consumer,
                dead_letter_key=dead_letters,
                claim_idle_ms=int(config.claim_idle_seconds * 1000),
                max_deliveries=config.max_deliveries,
            )
            for kind in kinds
        }
        self.held: dict[str, Batch] = {}
        self._ready = False
        self._next_take_over = 0.0
        self._start = 0  # the partition a round reads first: a backlog starves none
        self.backoff = 0.0

    def run_until(self, stop: threading.Event) -> None:
        """Run rounds until ``stop``; pause after an empty round, back off after an outage."""
        while not stop.is_set():
            try:
                handled = self.run_once()
                self.backoff = 0.0
            except WarehouseUnavailable as error:
                self.backoff = min(MAX_BACKOFF, 2 * self.backoff or 0.5)
                log.warning(
                    "warehouse unavailable: nothing is acked until it answers",
                    extra={"error": str(error), "retry_in_seconds": self.backoff},
                )
                stop.wait(self.backoff)
                continue
            except REDIS_FAILURES as error:
                log.warning("sink round failed: Redis", extra={"error": str(error)})
                handled = 0
            if handled == 0:
                stop.wait(self.config.poll_idle_seconds)

    def run_once(self) -> int:
        """One round of every sink; how many entries it wrote and acked (poison not counted)."""
        self._prepare()
        take_over = self.clock() >= self._next_take_over
        if take_over:
            self._next_take_over = self.clock() + self.config.claim_idle_seconds / 2
        order = [*self.partitions[self._start :], *self.partitions[: self._start]]
        self._start = (self._start + 1) % len(self.partitions)
        handled = 0
        for kind in self.kinds:
            batch = self.held.pop(kind.name, None) or self.read(kind, order, take_over)
            self.held[kind.name] = batch  # until acked: an outage keeps it here
            self.settle(batch)
            del self.held[kind.name]
            handled += len(batch.entries)
        return handled

    def _prepare(self) -> None:
        if self._ready:
            return
        try:
            self.warehouse.ensure_schema()
        except psycopg.Error as error:
            self.metrics.warehouse_up(False)
            raise WarehouseUnavailable(str(error)) from error
        for kind in self.kinds:
            for part in self.partitions:
                stream = self.stream(kind, part)
                self.groups[kind.name].ensure(stream)
                # Every restart is a new consumer name; the old ones' entries are taken over.
                self.groups[kind.name].forget_idle_consumers(stream, FORGET_AFTER_MS)
        self._ready = True

    @staticmethod
    def stream(kind: Kind, part: Partition) -> str:
        """The stream of ``part`` that ``kind`` sinks."""
        return part.raw if kind.name == "raw" else part.processed

    def read(self, kind: Kind, order: list[Partition], take_over: bool) -> Batch:
        """A batch of entries from the partitions in ``order``, at most ~MAX_ROWS rows."""
        batch, rows = Batch(kind), 0
        for part in order:
            # Never more entries than could fill what is left of the batch.
            room = max(1, (MAX_ROWS - rows) // kind.rows_per_entry)
            fetched = self.fetch(kind, self.stream(kind, part), take_over, room)
            batch.entries.extend(fetched)
            rows += sum(len(entry_rows) for _, entry_rows in fetched)
            if rows >= MAX_ROWS:
                break
        return batch

    def fetch(
        self, kind: Kind, stream: str, take_over: bool, room: int
    ) -> list[tuple[Delivery, list[Row]]]:
        """Entries of one stream and their rows: stale ones taken over, then new ones.

        Unreadable entries are dead-lettered here, so they never reach a batch.
        """
        group, size = self.groups[kind.name], min(self.config.batch, room)
        deliveries: list[Delivery] = []
        if take_over:
            claimed, dead = group.take_over(stream, size)
            self.metrics.entries(kind.name, "dead_lettered", dead)
            deliveries.extend(claimed)
        if len(deliveries) < size:
            deliveries.extend(group.read_new(stream, size - len(deliveries)))
        readable, poison = [], []
        for delivery in deliveries:
            try:
                readable.append((delivery, kind.rows(delivery.entry_id, delivery.fields)))
            except Unreadable as error:
                poison.append(delivery.entry_id)
                log.warning("unreadable entry", extra={"stream": stream, "error": str(error)})
        moved = group.dead_letter(stream, poison, "unreadable")
        self.metrics.entries(kind.name, "dead_lettered", moved)
        return readable

    def settle(self, batch: Batch) -> None:
        """Write the batch's rows (unless written), then ack its entries."""
        if not batch.written and batch.entries:
            self.write(batch)
            batch.written = True
        group = self.groups[batch.kind.name]
        for stream, ids in batch.ids_by_stream().items():
            group.ack(stream, ids)
        self.metrics.entries(batch.kind.name, "written", len(batch.entries))

    def write(self, batch: Batch) -> None:
        """Insert the rows in one transaction; entry by entry if PostgreSQL refuses one."""
        started = time.perf_counter()
        try:
            self._insert(batch.kind, batch.rows)
        except psycopg.DataError:
            self._isolate(batch)
        self.metrics.batch_seconds(batch.kind.name, time.perf_counter() - started)

    def _insert(self, kind: Kind, rows: list[Row]) -> None:
        try:
            inserted = self.warehouse.insert(kind.table, rows)
        except psycopg.DataError:
            raise
        except psycopg.Error as error:
            self.metrics.warehouse_up(False)
            raise WarehouseUnavailable(str(error)) from error
        self.metrics.warehouse_up(True)
        self.metrics.rows(kind.table.name, inserted, len(rows) - inserted)

    def _isolate(self, batch: Batch) -> None:
        """Insert entry by entry; dead-letter those whose rows PostgreSQL refuses."""
        kept: list[tuple[Delivery, list[Row]]] = []
        group = self.groups[batch.kind.name]
        for delivery, rows in batch.entries:
            try:
                self._insert(batch.kind, rows)
                kept.append((delivery, rows))
            except psycopg.DataError as error:
                log.warning("entry refused by the warehouse", extra={"error": str(error)})
                moved = group.dead_letter(delivery.stream, [delivery.entry_id], "refused")
                self.metrics.entries(batch.kind.name, "dead_lettered", moved)
        batch.entries = kept

    def status(self) -> list[GroupStatus]:
        """Each sink's lag, pending and dead letters over its streams (for the metrics)."""
        return [self._status(kind) for kind in self.kinds]

    def _status(self, kind: Kind) -> GroupStatus:
        lag = pending = dead = 0
        for part in self.partitions:
            stream = self.stream(kind, part)
            try:
                groups: Any = self.client.xinfo_groups(stream)
            except ResponseError:  # no such stream yet
                continue
            for group in groups:
                if group["name"] == kind.group:
                    lag += self._lag(stream, group)
                    pending += int(group["pending"])
            dead += int(self.client.xlen(dead_letters(stream)))
        return GroupStatus(kind.name, lag, pending, dead)

    def _lag(self, stream: str, group: Any) -> int:
        """The group's lag; counted (capped) where Redis does not say (< 7, after trims)."""
        lag = group.get("lag")
        if lag is None:
            after = f"({group['last-delivered-id']}"
            lag = len(self.client.xrange(stream, after, "+", count=LAG_COUNT_CAP))  # type: ignore[arg-type]
        return int(lag)
