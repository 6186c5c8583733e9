"""The reporting consumer group: keeps every user's daily summaries current from the streams.

A loop over the partition streams: take over entries a dead or stalled consumer left
pending, read new ones, and apply each partition's batch with one script that adds an
entry's increments only if its XACK returns 1. Only the first consumer to ack an entry
counts it, so a stalled consumer acking after its entries were taken over counts nothing
twice. Entries it cannot read go to the partition's dead-letter stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.common.redis import REDIS_FAILURES, BlockingClient
from services.common.streams import ConsumerGroup, Delivery
from services.watch_logs import summaries
from services.watch_logs.config import WatchLogSettings
from services.watch_logs.partitions import Partition, Partitions

log = logging.getLogger(__name__)

_WIDTH = 1 + len(summaries.INT_COUNTERS) + len(summaries.FLOAT_COUNTERS) + 1


def _apply_script() -> str:
    """KEYS: stream, day hash per entry. ARGV: group, ttl s, then per entry id and counters."""
    ints = "\n".join(
        f"    redis.call('HINCRBY', day, '{name}', ARGV[base + {1 + n}])"
        for n, name in enumerate(summaries.INT_COUNTERS, start=1)
    )
    first_float = 1 + len(summaries.INT_COUNTERS)
    floats = "\n".join(
        f"    redis.call('HINCRBYFLOAT', day, '{name}', ARGV[base + {first_float + n}])"
        for n, name in enumerate(summaries.FLOAT_COUNTERS, start=1)
    )
    return f"""
local applied = 0
for i = 2, #KEYS do
  local base = 2 + (i - 2) * {_WIDTH}
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[base + 1]) == 1 then
    local day = KEYS[i]
{ints}
{floats}
    local hr = tonumber(ARGV[base + {_WIDTH}])
    if hr > tonumber(redis.call('HGET', day, 'hr_max') or '0') then
      redis.call('HSET', day, 'hr_max', hr)
    end
    redis.call('EXPIRE', day, ARGV[2])
    applied = applied + 1
  end
end
return applied
"""


APPLY = _apply_script()


@dataclass
class ConsumerCounts:
    """What the consumer did since it started (the lead's metrics read these)."""

    processed: int = 0  # counted into a summary by this consumer
    duplicates: int = 0  # acked by another consumer first: counted there
    dead_lettered: int = 0  # unreadable, or delivered too often
    failed_rounds: int = 0  # rounds Redis did not answer


class ReportingConsumer:
    """One consumer of the reporting group over every partition stream."""

    def __init__(
        self,
        client: BlockingClient,
        consumer: str,
        *,
        partitions: int = 16,
        group: str = "reporting",
        batch: int = 200,
        idle_seconds: float = 0.5,
        claim_idle_seconds: float = 30.0,
        max_deliveries: int = 5,
        retention: timedelta = timedelta(days=7),
        outcomes: Callable[[str, int], None] | None = None,
    ) -> None:
        self.client = client
        self.partitions = Partitions(partitions)
        self.batch = batch
        claim = timedelta(seconds=claim_idle_seconds)
        self.idle_seconds = idle_seconds
        # A day's hash outlives the entries it counts by one day.
        self.ttl_seconds = int((retention + timedelta(days=1)).total_seconds())
        self.counts = ConsumerCounts()
        # Names of consumers silent this long, with nothing pending, are removed at start.
        self.forget_after_ms = int(max(timedelta(hours=1), 2 * claim).total_seconds() * 1000)
        self.outcomes = outcomes
        dead = {p.stream: p.dead_letters for p in self.partitions.all}
        self.group = ConsumerGroup(
            client,
            group,
            consumer,
            dead_letter_key=dead.__getitem__,
            claim_idle_ms=int(claim.total_seconds() * 1000),
            max_deliveries=max_deliveries,
        )
        self._apply: Any = client.register_script(APPLY)
        self._ready = False
        self.claim_seconds = claim.total_seconds()
        self._next_take_over = 0.0  # time.monotonic() of the next look for stale entries

    @classmethod
    def from_settings(
        cls,
        client: BlockingClient,
        settings: WatchLogSettings,
        consumer: str,
        outcomes: Callable[[str, int], None] | None = None,
    ) -> ReportingConsumer:
        """The consumer the service's settings describe, named ``consumer`` (host:pid:port)."""
        return cls(
            client,
            consumer,
            partitions=settings.partitions,
            group=settings.consumer_group,
            batch=settings.consumer_batch,
            idle_seconds=settings.consumer_idle_seconds,
            claim_idle_seconds=settings.consumer_claim_idle_seconds,
            max_deliveries=settings.consumer_max_deliveries,
            retention=timedelta(hours=settings.retention_hours),
            outcomes=outcomes,
        )

    def run_until(self, stop: threading.Event) -> None:
        """Run rounds until ``stop`` is set; pause after a round with nothing (or an outage)."""
        while not stop.is_set():
            try:
                handled = self.run_once()
            except REDIS_FAILURES as error:
                self.counts.failed_rounds += 1
                log.warning("consumer round failed", extra={"error": str(error)})
                handled = 0
            if handled == 0:
                stop.wait(self.idle_seconds)

    def run_once(self) -> int:
        """One round over every partition; how many entries it handled (any outcome)."""
        if not self._ready:
            for part in self.partitions.all:
                self.group.ensure(part.stream)
                # Every restart is a new consumer name; the old ones' entries were taken over.
                self.group.forget_idle_consumers(part.stream, self.forget_after_ms)
            self._ready = True
        # Nothing turns stale faster than the claim idle time: look for it twice per period,
        # not every round (two calls per partition saved on most rounds).
        take_over = time.monotonic() >= self._next_take_over
        if take_over:
            self._next_take_over = time.monotonic() + self.claim_seconds / 2
        handled, failed = 0, None
        for part in self.partitions.all:
            # One partition that fails (its master failing over, a key an operator broke)
            # must not starve the partitions after it, round after round.
            try:
                handled += self.apply(part, self.fetch(part, take_over))
            except REDIS_FAILURES as error:
                failed = error
                log.warning(
                    "consumer partition failed", extra={"stream": part.stream, "error": str(error)}
                )
        if failed is not None and handled == 0:
            raise failed
        return handled

    def fetch(self, part: Partition, take_over: bool = True) -> list[Delivery]:
        """Entries to process now: stale ones taken over (if asked), then new ones."""
        claimed: list[Delivery] = []
        if take_over:
            claimed, dead = self.group.take_over(part.stream, self.batch)
            self._count("dead_lettered", dead)
        return claimed + self.group.read_new(part.stream, self.batch)

    def apply(self, part: Partition, deliveries: list[Delivery]) -> int:
        """Count the deliveries into their days (each once over every consumer); how many."""
        keys, args, poison = [part.stream], [], []
        for delivery in deliveries:
            try:
                step = summaries.increment(delivery.fields)
                if self.partitions.index_of(step.user_id) != part.index:
                    raise ValueError("entry of a user of another partition")
            except ValueError:
                poison.append(delivery.entry_id)
                continue
            keys.append(part.day(step.user_id, step.day))
            args.extend([delivery.entry_id, *step.script_args()])
        if poison:
            self._count("dead_lettered", self.group.dead_letter(part.stream, poison, "unreadable"))
        if len(keys) > 1:
            applied = int(self._apply(keys=keys, args=[self.group.group, self.ttl_seconds, *args]))
            self._count("processed", applied)
            self._count("duplicates", len(keys) - 1 - applied)
        return len(deliveries)

    def _count(self, outcome: str, n: int) -> None:
        setattr(self.counts, outcome, getattr(self.counts, outcome) + n)
        if self.outcomes is not None and n:
            self.outcomes(outcome, n)
