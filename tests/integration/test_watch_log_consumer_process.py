"""The reporting consumer in its own child process: it counts, its counts reach the
parent's metrics, and a child SIGKILLed is restarted and loses nothing."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator

import pytest

from deploy.polling import wait_for
from services.common.redis import BlockingClient
from services.watch_logs.config import WatchLogSettings
from services.watch_logs.consumer_process import ConsumerProcess
from services.watch_logs.redis_store import RedisWatchLogStore
from tests.integration.watch_log_harness import NOW, PARTITIONS, log, redis_harness


@pytest.fixture
def client(redis_server: str) -> Iterator[BlockingClient]:
    """A blocking client of an emptied Redis."""
    for _, made in redis_harness(redis_server):
        yield made


def samples_of(store: RedisWatchLogStore, user: str) -> int:
    """How many of the user's logs the consumer counted into NOW's day."""
    return sum(day.samples for day in store.daily_summaries(user, NOW.date(), NOW.date()))


def test_a_consumer_child_counts_restarts_after_a_sigkill_and_reports_to_the_parent(
    redis_server: str, client: BlockingClient
) -> None:
    store = RedisWatchLogStore(client, partitions=PARTITIONS)
    settings = WatchLogSettings(
        redis_url=redis_server,
        partitions=PARTITIONS,
        consumer_idle_seconds=0.05,
        consumer_claim_idle_seconds=1.0,
    )
    reported: Counter[str] = Counter()
    child = ConsumerProcess(settings, "test-child", lambda o, n: reported.update({o: n}))
    child.start()
    try:
        store.append("ann", [log(n) for n in range(1, 4)], NOW)
        wait_for(lambda: samples_of(store, "ann") == 3, 30, "the child's counting")
        first_pid = child.child.pid
        os.kill(first_pid, signal.SIGKILL)
        child.child.join(10)
        child.check()  # what the parent's watch does every second
        assert child.child.pid != first_pid
        store.append("ann", [log(n) for n in range(4, 6)], NOW)
        wait_for(lambda: samples_of(store, "ann") == 5, 30, "the new child's counting")
    finally:
        child.stop()
    assert reported["processed"] == 5  # each log counted once, across both children
    assert not child.child.is_alive()
