"""The watch-log store contract: the Redis store (one Redis, the Redis Cluster) and the fake
agree on dedup, scans, retention, summaries and status."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.cluster import RedisCluster

from deploy import redis_cluster
from deploy.local import free_port
from services.common.redis import blocking_client
from services.watch_logs.domain import LogFilter, StoredLog, StoreUnavailable, WatchLog
from services.watch_logs.redis_store import RedisWatchLogStore
from tests.integration.conftest import either_redis_url
from tests.integration.watch_log_harness import (
    NOW,
    WINDOW,
    Harness,
    everything,
    log,
    redis_harness,
)
from tests.unit.watch_log_fakes import FakeWatchLogStore


@pytest.fixture(params=["fake", "one-redis", "redis-cluster"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """Each test runs on the fake, on one Redis and on the Redis Cluster."""
    if request.param == "fake":
        fake = FakeWatchLogStore()
        yield Harness(fake, fake.consume)
        return
    for made, _ in redis_harness(either_redis_url(request)):
        yield made


def ids(found: list[StoredLog]) -> list[tuple[str, str]]:
    """(user, message id) of each entry, in order."""
    return [(s.user_id, s.log.message_id) for s in found]


def test_a_retried_batch_stores_nothing_twice(harness: Harness) -> None:
    store = harness.store
    batch = [log(n) for n in range(1, 6)]
    assert store.append("u1", batch, NOW) == [True] * 5
    retry = [*batch, log(6), log(7)]
    assert store.append("u1", retry, NOW + timedelta(seconds=5)) == [False] * 5 + [True] * 2
    assert sorted(ids(everything(store, WINDOW))) == sorted(("u1", f"m-{n}") for n in range(1, 8))


def test_the_same_message_id_of_another_user_is_another_entry(harness: Harness) -> None:
    assert harness.store.append("u1", [log(1)], NOW) == [True]
    assert harness.store.append("u2", [log(1)], NOW) == [True]
    assert sorted(ids(everything(harness.store, WINDOW))) == [("u1", "m-1"), ("u2", "m-1")]


def test_a_stored_log_reads_back_as_it_was_sent(harness: Harness) -> None:
    sent = log(4, activity="running")
    harness.store.append("u1", [sent], NOW)
    (stored,) = everything(harness.store, WINDOW)
    assert stored.log == sent
    assert stored.user_id == "u1"
    assert stored.ingested_at == NOW


def fill(harness: Harness) -> dict[str, list[WatchLog]]:
    """Three users' logs over several devices, activities and times, in a few batches."""
    sent: dict[str, list[WatchLog]] = {}
    for u, user in enumerate(["alice", "bob", "carol"]):
        logs = [
            log(
                n,
                at=NOW - timedelta(hours=n % 4),
                device=f"watch-{u}-{n % 2}",
                activity=["walking", "sleep", "running"][n % 3],
            )
            for n in range(1, 13)
        ]
        for first in range(0, len(logs), 5):
            harness.store.append(user, logs[first : first + 5], NOW + timedelta(seconds=first))
        sent[user] = logs
    return sent


def test_scan_filters_by_user_device_activity_and_time(harness: Harness) -> None:
    sent = fill(harness)
    store = harness.store

    def matching(where: LogFilter) -> set[tuple[str, str]]:
        return set(ids(everything(store, where)))

    def expected(keep: Callable[[str, WatchLog], bool]) -> set[tuple[str, str]]:
        return {(u, g.message_id) for u, logs in sent.items() for g in logs if keep(u, g)}

    assert matching(LogFilter(WINDOW.start, WINDOW.end, user_id="bob")) == expected(
        lambda u, g: u == "bob"
    )
    assert matching(LogFilter(WINDOW.start, WINDOW.end, device_id="watch-2-1")) == expected(
        lambda u, g: g.device_id == "watch-2-1"
    )
    assert matching(LogFilter(WINDOW.start, WINDOW.end, activity="sleep")) == expected(
        lambda u, g: g.activity == "sleep"
    )
    hour = LogFilter(NOW - timedelta(hours=2, minutes=1), NOW - timedelta(hours=1))
    assert matching(hour) == expected(lambda u, g: hour.start <= g.timestamp < hour.end)
    both = LogFilter(WINDOW.start, WINDOW.end, user_id="alice", activity="running")
    assert matching(both) == expected(lambda u, g: u == "alice" and g.activity == "running")
    assert matching(LogFilter(WINDOW.start, WINDOW.end, user_id="nobody")) == set()


def test_small_pages_return_every_entry_once_in_store_order(harness: Harness) -> None:
    sent = fill(harness)
    found = everything(harness.store, WINDOW, limit=4, budget=3)
    assert len(found) == sum(len(logs) for logs in sent.values())
    assert len(set(ids(found))) == len(found)
    order = [tuple(map(int, s.entry_id.split("-"))) for s in found]
    assert order == sorted(order)


def test_a_scan_over_every_representable_time_finds_everything(harness: Harness) -> None:
    harness.store.append("u1", [log(1), log(2)], NOW)
    forever = LogFilter(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
    assert sorted(ids(everything(harness.store, forever))) == [("u1", "m-1"), ("u1", "m-2")]


def test_a_page_stops_at_its_budget_and_its_cursor_resumes_there(harness: Harness) -> None:
    fill(harness)
    where = LogFilter(WINDOW.start, WINDOW.end, activity="running")
    first = harness.store.scan(where, None, 100, 5)
    assert first.next_cursor is not None
    assert len(first.logs) <= 5
    rest = everything(harness.store, where, limit=100, budget=1000)
    following = harness.store.scan(where, first.next_cursor, 100, 1000)
    assert following.next_cursor is None
    assert ids(list(first.logs) + list(following.logs)) == ids(rest)


def test_retention_trims_entries_older_than_the_window(harness: Harness) -> None:
    store = harness.store
    old_now = NOW - timedelta(days=8)
    store.append("u1", [log(n, at=old_now) for n in range(1, 4)], old_now)
    store.append("u1", [log(n) for n in range(10, 12)], NOW)
    span = LogFilter(old_now - timedelta(days=1), NOW + timedelta(hours=1))
    assert ids(everything(store, span)) == [("u1", "m-10"), ("u1", "m-11")]
    assert sum(s.length for s in store.status()) == 2


def test_daily_summaries_after_the_consumer_ran_equal_the_sums_of_what_was_stored(
    harness: Harness,
) -> None:
    store = harness.store
    day_one = [
        log(n, at=NOW - timedelta(days=1), activity=["sleep", "running"][n % 2])
        for n in range(1, 9)
    ]
    day_two = [log(n) for n in range(20, 26)]
    store.append("u1", day_one, NOW)
    store.append("u1", day_two, NOW)
    store.append("u1", day_two[:3], NOW)  # a retry: counted once
    store.append("u2", [log(1)], NOW)
    assert harness.consume() == len(day_one) + len(day_two) + 1
    days = store.daily_summaries("u1", NOW.date() - timedelta(days=3), NOW.date())
    assert [d.day for d in days] == [NOW.date() - timedelta(days=1), NOW.date()]
    for day, logs in zip(days, [day_one, day_two], strict=True):
        measured = [g.heart_rate for g in logs if g.heart_rate]
        assert day.samples == len(logs)
        assert day.steps == sum(g.steps for g in logs)
        assert day.floors == sum(g.floors for g in logs)
        assert day.calories == pytest.approx(sum(g.calories for g in logs))
        assert day.distance_m == pytest.approx(sum(g.distance_m for g in logs))
        active = [g for g in logs if g.activity != "sleep"]
        assert day.active_minutes == pytest.approx(sum(g.duration_s for g in active) / 60)
        assert day.mean_heart_rate == pytest.approx(sum(measured) / len(measured))
        assert day.max_heart_rate == max(measured)
    assert harness.consume() == 0
    assert store.daily_summaries("u1", NOW.date(), NOW.date()) == days[1:]


def test_status_shows_the_lag_falling_to_zero_after_a_run(harness: Harness) -> None:
    store = harness.store
    store.append("u1", [log(n) for n in range(1, 4)], NOW)
    store.append("u2", [log(n) for n in range(1, 3)], NOW)
    before = store.status()
    assert len(before) == 16
    assert sum(s.length for s in before) == 5
    assert sum(s.lag for s in before) == 5
    harness.consume()
    after = store.status()
    assert sum(s.length for s in after) == 5
    assert [(s.lag, s.pending, s.dead_letters) for s in after] == [(0, 0, 0)] * 16


# The Redis store's own guarantees on the cluster: spread, and replica acknowledgement.


def test_the_partitions_are_spread_over_every_master_of_the_cluster(
    redis_cluster_server: redis_cluster.RedisCluster,
) -> None:
    for _, client in redis_harness(redis_cluster_server.url):
        assert isinstance(client, RedisCluster)
        store = RedisWatchLogStore(client, partitions=16)
        for n in range(200):  # enough users for every partition
            store.append(f"user-{n}", [log(1)], NOW)
        owner = {p: client.get_node_from_key(p.stream) for p in store.partitions.all}
        assert all(int(client.cluster_keyslot(p.stream)) == p.slot for p in owner)
        masters = client.get_primaries()
        assert len(masters) == 3
        for master in masters:
            mine = [p.stream for p, node in owner.items() if node.name == master.name]
            assert len(mine) >= 4  # about a third of 16
            node_client = client.get_redis_connection(master)
            assert node_client is not None
            assert all(node_client.exists(stream) for stream in mine)  # stored on that master


def test_on_the_cluster_a_batch_is_acknowledged_once_a_replica_holds_it(
    redis_cluster_server: redis_cluster.RedisCluster,
) -> None:
    for _, client in redis_harness(redis_cluster_server.url):
        store = RedisWatchLogStore(client, replicas_to_ack=1, ack_timeout_ms=10_000)
        assert store.append("u1", [log(1), log(2)], NOW) == [True, True]
        stream = store.partitions.of_user("u1").stream
        (replica,) = redis_cluster_server.replicas_of(redis_cluster_server.master_for(stream))
        with replica.client() as direct:
            direct.execute_command("READONLY")
            assert direct.xlen(stream) == 2  # WAIT answered: the replica has both already


def test_a_confirmed_batch_sent_to_a_master_that_lost_the_slot_is_retried_on_its_owner(
    redis_cluster_server: redis_cluster.RedisCluster,
) -> None:
    for _, client in redis_harness(redis_cluster_server.url):
        assert isinstance(client, RedisCluster)
        store = RedisWatchLogStore(client, replicas_to_ack=1, ack_timeout_ms=10_000)
        part = store.partitions.of_user("u1")
        owner = client.get_node_from_key(part.stream)
        wrong = next(n for n in client.get_primaries() if n.name != owner.name)
        # As after a failover: the client's slot map names another master, which says MOVED.
        client.nodes_manager.slots_cache[part.slot] = [wrong]
        assert store.append("u1", [log(1), log(2)], NOW) == [True, True]
        assert client.get_node_from_key(part.stream).name == owner.name
        assert ids(everything(store, WINDOW)) == [("u1", "m-1"), ("u1", "m-2")]


def test_asking_for_more_replicas_than_exist_fails_and_the_retry_is_a_duplicate(
    redis_cluster_server: redis_cluster.RedisCluster,
) -> None:
    for _, client in redis_harness(redis_cluster_server.url):
        greedy = RedisWatchLogStore(client, replicas_to_ack=3, ack_timeout_ms=50)
        with pytest.raises(StoreUnavailable, match="not confirmed on 3 replica"):
            greedy.append("u1", [log(1)], NOW)
        careful = RedisWatchLogStore(client, replicas_to_ack=1, ack_timeout_ms=10_000)
        assert careful.append("u1", [log(1), log(2)], NOW) == [False, True]
        assert ids(everything(careful, WINDOW)) == [("u1", "m-1"), ("u1", "m-2")]


def test_one_redis_without_replicas_cannot_confirm_a_batch(one_redis_server: str) -> None:
    for _, client in redis_harness(one_redis_server):
        store = RedisWatchLogStore(client, replicas_to_ack=1, ack_timeout_ms=50)
        with pytest.raises(StoreUnavailable, match="retry"):
            store.append("u1", [log(1)], NOW)


def test_a_redis_that_does_not_answer_is_store_unavailable() -> None:
    client = blocking_client(f"redis://127.0.0.1:{free_port()}/0", 1.0)
    store = RedisWatchLogStore(client)
    with pytest.raises(StoreUnavailable, match="did not answer"):
        store.append("u1", [log(1)], NOW)
    with pytest.raises(StoreUnavailable):
        store.scan(WINDOW, None, 10, 10)
    with pytest.raises(StoreUnavailable):
        store.status()
    with pytest.raises(StoreUnavailable):
        store.daily_summaries("u1", NOW.date(), NOW.date())


def test_a_message_id_is_remembered_as_long_as_a_sample_ahead_by_the_skew_is_accepted(
    one_redis_server: str,
) -> None:
    for _, client in redis_harness(one_redis_server):
        age, skew = timedelta(hours=24), timedelta(minutes=5)
        store = RedisWatchLogStore(client, max_sample_age=age, max_clock_skew=skew)
        store.append("u1", [log(1)], NOW)
        remembered_ms = client.pttl(store.partitions.of_user("u1").seen("u1", "m-1"))
        # Such a sample is accepted until age + skew after its ingest: its retry must still
        # be a duplicate then.
        assert remembered_ms > (age + skew - timedelta(seconds=30)).total_seconds() * 1000


def test_a_failed_append_remembers_no_message_id_so_its_retry_stores_it(
    one_redis_server: str,
) -> None:
    for _, client in redis_harness(one_redis_server):
        store = RedisWatchLogStore(client)
        stream = store.partitions.of_user("u1").stream
        client.set(stream, "not a stream")  # XADD now fails inside the script
        with pytest.raises(StoreUnavailable):
            store.append("u1", [log(1)], NOW)
        client.delete(stream)
        assert store.append("u1", [log(1)], NOW) == [True]
