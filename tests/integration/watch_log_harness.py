"""Stores for the watch-log contract tests: the fake, and the Redis store on both topologies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.common.redis import BlockingClient, blocking_client
from services.watch_logs.consumer import ReportingConsumer
from services.watch_logs.domain import LogFilter, StoredLog, WatchLog
from services.watch_logs.redis_store import RedisWatchLogStore
from services.watch_logs.repository import WatchLogStore
from tests.helpers import flush

PARTITIONS = 16
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC).replace(microsecond=0)


@dataclass
class Harness:
    """A store, and how to run its consumer group until it has read everything."""

    store: WatchLogStore
    consume: Callable[[], int]


def redis_harness(url: str) -> Iterator[tuple[Harness, BlockingClient]]:
    """The Redis store on an emptied Redis, with a drained reporting consumer."""
    flush(url)
    client = blocking_client(url, 5.0)
    consumer = ReportingConsumer(client, "test:1:0", partitions=PARTITIONS)
    try:
        yield Harness(RedisWatchLogStore(client, partitions=PARTITIONS), drain(consumer)), client
    finally:
        client.close()


def drain(consumer: ReportingConsumer) -> Callable[[], int]:
    """Run rounds until one handles nothing; the total handled."""

    def run() -> int:
        total = 0
        while handled := consumer.run_once():
            total += handled
        return total

    return run


def log(
    n: int, *, at: datetime = NOW, device: str = "watch-1", activity: str = "walking"
) -> WatchLog:
    """A valid log numbered ``n``, taken ``n`` seconds before ``at``."""
    return WatchLog(
        message_id=f"m-{n}",
        device_id=device,
        device_model="Forerunner 265",
        firmware="20.26",
        timestamp=at - timedelta(seconds=n),
        activity=activity,
        duration_s=60,
        steps=10 * n,
        heart_rate=0 if n % 3 == 0 else 60 + n,
        calories=0.1 * n,
        distance_m=7.5 * n,
        floors=n % 2,
        battery=90,
    )


def everything(
    store: WatchLogStore, where: LogFilter, limit: int = 4, budget: int = 3
) -> list[StoredLog]:
    """Every match, page after page with a small budget."""
    found: list[StoredLog] = []
    page = store.scan(where, None, limit, budget)
    found.extend(page.logs)
    for _ in range(10_000):  # bounded: a cursor that never ends fails the test
        if page.next_cursor is None:
            return found
        page = store.scan(where, page.next_cursor, limit, budget)
        found.extend(page.logs)
    raise AssertionError("the scan never ended")


WINDOW = LogFilter(start=NOW - timedelta(days=2), end=NOW + timedelta(hours=1))
