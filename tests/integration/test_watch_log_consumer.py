"""The reporting consumer group on one Redis and on the Redis Cluster: a crashed or stalled
consumer's entries are counted exactly once, poison goes to dead letters, the loop stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from deploy.polling import wait_for
from services.common.redis import BlockingClient
from services.watch_logs import entries
from services.watch_logs.consumer import ReportingConsumer
from services.watch_logs.domain import DailySummary
from services.watch_logs.partitions import Partitions
from services.watch_logs.redis_store import RedisWatchLogStore
from tests.integration.watch_log_harness import NOW, PARTITIONS, drain, log, redis_harness

USERS = ["alice", "bob", "carol", "dave"]


@pytest.fixture
def client(either_redis: str) -> Iterator[BlockingClient]:
    """A blocking client of an emptied Redis (each test runs on both topologies)."""
    for _, made in redis_harness(either_redis):
        yield made


def consumer(client: BlockingClient, name: str, claim_idle: float = 30.0) -> ReportingConsumer:
    """A reporting consumer; claim_idle 0 takes over whatever is pending at once."""
    return ReportingConsumer(client, name, partitions=PARTITIONS, claim_idle_seconds=claim_idle)


def store_logs(client: BlockingClient) -> tuple[RedisWatchLogStore, int]:
    """Three logs for each user; the store and how many entries it holds."""
    store = RedisWatchLogStore(client, partitions=PARTITIONS)
    for user in USERS:
        store.append(user, [log(n) for n in range(1, 4)], NOW)
    return store, 3 * len(USERS)


def summaries(store: RedisWatchLogStore) -> dict[str, list[DailySummary]]:
    """Every user's summary of NOW's day."""
    return {u: store.daily_summaries(u, NOW.date(), NOW.date()) for u in USERS}


def counted_once(store: RedisWatchLogStore) -> bool:
    """Each user's day counts exactly its three logs."""
    days = summaries(store)
    return all([d.samples for d in days[u]] == [3] for u in USERS) and all(
        d.steps == 10 + 20 + 30 for u in USERS for d in days[u]
    )


def test_a_crashed_consumers_pending_entries_are_taken_over_and_counted_once(
    client: BlockingClient,
) -> None:
    first = consumer(client, "crashed")
    for part in first.partitions.all:
        first.group.ensure(part.stream)
    store, total = store_logs(client)
    received = sum(len(first.fetch(p)) for p in first.partitions.all)  # then it "crashes"
    assert received == total
    assert sum(s.pending for s in store.status()) == total
    survivor = consumer(client, "survivor", claim_idle=0.0)
    assert drain(survivor)() == total
    assert survivor.counts.processed == total
    assert counted_once(store)
    assert [(s.lag, s.pending) for s in store.status()] == [(0, 0)] * PARTITIONS


def test_a_stalled_consumer_acking_after_a_takeover_counts_nothing_twice(
    client: BlockingClient,
) -> None:
    stalled = consumer(client, "stalled")
    for part in stalled.partitions.all:
        stalled.group.ensure(part.stream)
    store, total = store_logs(client)
    held = {p: stalled.fetch(p) for p in stalled.partitions.all}
    drain(consumer(client, "taker", claim_idle=0.0))()
    assert counted_once(store)
    for part, deliveries in held.items():  # the stalled consumer wakes up and applies
        stalled.apply(part, deliveries)
    assert stalled.counts.processed == 0
    assert stalled.counts.duplicates == total
    assert counted_once(store)


def test_two_consumers_of_one_group_share_the_entries_and_count_each_once(
    client: BlockingClient,
) -> None:
    one = ReportingConsumer(client, "one", partitions=PARTITIONS, batch=1)
    two = consumer(client, "two")
    for part in one.partitions.all:
        one.group.ensure(part.stream)
    store, total = store_logs(client)
    for part in one.partitions.all:
        first, rest = one.fetch(part), two.fetch(part)
        assert not {d.entry_id for d in first} & {d.entry_id for d in rest}
        one.apply(part, first)
        two.apply(part, rest)
    assert one.counts.processed == len(USERS)  # one entry of each user's partition
    assert one.counts.processed + two.counts.processed == total
    assert counted_once(store)


def test_unreadable_entries_go_to_the_dead_letter_stream(client: BlockingClient) -> None:
    store, total = store_logs(client)
    part = Partitions(PARTITIONS).of_user("alice")
    client.xadd(part.stream, {"junk": "1"})
    # A readable log of a user whose partition is another one would touch another slot.
    other = next(
        u for u in (f"user-{n}" for n in range(100)) if Partitions(PARTITIONS).of_user(u) != part
    )
    fields: dict[Any, Any] = dict(zip(entries.FIELDS, entries.encode(other, log(1)), strict=True))
    client.xadd(part.stream, fields)
    reader = consumer(client, "reader")
    assert drain(reader)() == total + 2
    assert reader.counts.dead_lettered == 2
    assert reader.counts.processed == total
    assert counted_once(store)
    dead: Any = client.xrange(part.dead_letters)
    assert [entry["dead_reason"] for _, entry in dead] == ["unreadable", "unreadable"]
    assert dead[0][1]["junk"] == "1"
    status = {s.stream: s for s in store.status()}[part.stream]
    assert (status.dead_letters, status.pending, status.lag) == (2, 0, 0)


def test_the_loop_keeps_summaries_current_until_it_is_stopped(client: BlockingClient) -> None:
    reader = consumer(client, "loop")
    reader.idle_seconds = 0.05
    stop = threading.Event()
    thread = threading.Thread(target=reader.run_until, args=(stop,))
    thread.start()
    try:
        store, total = store_logs(client)
        wait_for(lambda: counted_once(store), 30, "every entry counted")
        store.append("alice", [log(n, at=NOW + timedelta(minutes=1)) for n in range(50, 52)], NOW)
        wait_for(lambda: reader.counts.processed == total + 2, 30, "the new entries counted")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert reader.counts.failed_rounds == 0


def test_a_broken_partition_does_not_starve_the_others(client: BlockingClient) -> None:
    store, _ = store_logs(client)
    broken = store.partitions.of_user("alice")
    healthy = [u for u in USERS if store.partitions.of_user(u) != broken]
    assert healthy, "every user hashed to alice's partition"
    reader = consumer(client, "c1")
    reader.run_once()  # creates the groups
    day = broken.day("alice", NOW.date())
    client.set(day, "not a hash")  # alice's increments now fail inside the script

    store.append("alice", [log(9)], NOW)
    for user in healthy:
        store.append(user, [log(9)], NOW)
    reader.run_once()

    for user in healthy:
        [summary] = store.daily_summaries(user, NOW.date(), NOW.date())
        assert summary.samples == 4, user
