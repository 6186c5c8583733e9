"""Processor workers on one Redis and on the Redis Cluster: windows reach the windows hash,
the processed stream and the device state, changes are published, a replay changes
nothing, a crashed worker's pending entries rebuild exactly the windows it had not written,
a worker that lost its lease writes nothing, and two workers split the partitions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import redis
from prometheus_client import CollectorRegistry

from services.common.redis import BlockingClient, blocking_client
from services.common.timeutil import format_time
from services.motion import keys
from services.motion.domain import ACCELEROMETER, Reading, SensorMessage
from services.motion.entries import encode_message
from services.motion.keys import WORKERS, Partitions
from services.motion.processor.decode import chunk_of
from services.motion.processor.metrics import ProcessorMetrics
from services.motion.processor.redis_adapter import GROUP, KEY_TTL_MARGIN_MS, RedisProcessorStore
from services.motion.processor.worker import Worker, WorkerConfig
from services.motion.records import decode_record, decode_state
from services.motion.windows import WindowEngine, WindowSpec
from tests.helpers import flush

PARTITIONS = 16
SPEC = WindowSpec(window_ms=5000, slide_ms=2500, grace_ms=500, idle_timeout_ms=1000)
CONFIG = WorkerConfig(SPEC, PARTITIONS, lease_ms=1500, batch=50, poll_idle_seconds=0.01)
parts = Partitions(PARTITIONS)


@pytest.fixture
def client(either_redis: str) -> Iterator[BlockingClient]:
    """A blocking client of an emptied Redis (each test runs on both topologies)."""
    yield from emptied(either_redis)


def emptied(url: str) -> Iterator[BlockingClient]:
    """A blocking client of the Redis at ``url``, emptied first, closed after."""
    flush(url)
    made = blocking_client(url, 5.0)
    yield made
    made.close()


@dataclass
class Clock:
    """Wall time the test moves (idle timeouts, heartbeats); starts at the real time."""

    now: int = field(default_factory=lambda: time.time_ns() // 1_000_000)

    def __call__(self) -> int:
        return self.now


def worker(client: BlockingClient, name: str, clock: Clock) -> Worker:
    """A worker named ``name`` with a fresh registry."""
    store = RedisProcessorStore(client, name)
    return Worker(
        store, CONFIG, name, f"{name}:token", ProcessorMetrics(CollectorRegistry()), clock
    )


def gone(client: BlockingClient, dead: Worker) -> None:
    """What a worker's death leaves once its leases and heartbeat have run out."""
    for part in parts.all:
        if client.get(part.lease) == dead.leases.token:
            client.delete(part.lease)
    client.zrem(WORKERS, dead.leases.worker)


def sample(w: Worker, name: str) -> float:
    """One of the worker's metrics."""
    return w.metrics.registry.get_sample_value(name) or 0.0


def recording(device: str, start_ms: int, seconds: int, rate_hz: int = 50) -> list[SensorMessage]:
    """A walking-like recording: one message a second of ``rate_hz`` readings."""
    period = 1000 // rate_hz
    messages = []
    for n in range(seconds):
        times = range(start_ms + 1000 * n, start_ms + 1000 * (n + 1), period)
        readings = tuple(
            Reading(ACCELEROMETER, t, (3.0 * np.sin(t / 80.0), 1.0, 9.81 + np.cos(t / 80.0)))
            for t in times
        )
        messages.append(SensorMessage("user-1", device, "session-1", f"{device}-m{n}", readings))
    return messages


def write(client: BlockingClient, messages: list[SensorMessage]) -> list[str]:
    """XADD each message to its device's raw stream, as the ingest path stores it."""
    ids = []
    for m in messages:
        fields: Any = encode_message(m, m.readings[0].timestamp_ms)
        ids.append(str(client.xadd(parts.of_device(m.device_id).raw, fields)))
    return ids


def expected_keys(messages: list[SensorMessage]) -> set[str]:
    """The window keys one uninterrupted engine emits for the messages."""
    engine = WindowEngine(SPEC)
    for n, message in enumerate(messages):
        engine.add(chunk_of(f"{n}-0", encode_message(message, 0)), 0)
    records = [*engine.close_due(0).records, *engine.close_due(SPEC.idle_timeout_ms).records]
    return {r.window_key for r in records}


def drain(workers: list[Worker], clock: Clock, rounds: int = 400) -> None:
    """Run rounds (moving the clock 50 ms each) until none handles anything for 2 s."""
    quiet = 0
    for _ in range(rounds):
        handled = sum(w.run_once() for w in workers)
        clock.now += 50
        quiet = 0 if handled else quiet + 1
        if quiet * 50 > 2 * SPEC.idle_timeout_ms:
            return
    raise AssertionError("the workers never went quiet")


def processed_keys(client: BlockingClient, device: str) -> list[str]:
    """The device's window keys in its partition's processed stream, in stream order."""
    rows: Any = client.xrange(parts.of_device(device).processed)
    records = [json.loads(fields["record"]) for _, fields in rows]
    return [r["window_key"] for r in records if r["device_id"] == device]


def pending(client: BlockingClient, device: str) -> int:
    """Raw entries of the device's partition read but not acked."""
    return int(client.xpending(parts.of_device(device).raw, GROUP)["pending"])


def subscribe(client: BlockingClient, channel: str) -> redis.client.PubSub:
    """A subscriber to a notifications channel (SSUBSCRIBE on the cluster node owning it)."""
    if isinstance(client, redis.RedisCluster):
        node = client.get_node_from_key(channel)
        sub = node.redis_connection.pubsub()  # the node's client, with the cluster's password
        sub.ssubscribe(channel)
    else:
        sub = client.pubsub()
        sub.subscribe(channel)
    sub.get_message(timeout=1.0)  # the confirmation
    return sub  # type: ignore[no-any-return]  # redis-py's pubsub() is untyped


def test_windows_reach_the_hash_the_processed_stream_and_the_state_and_changes_are_published(
    client: BlockingClient,
) -> None:
    clock = Clock()
    start = (clock.now // 10_000) * 10_000 - 60_000
    messages = recording("phone-1", start, 12)
    sub = subscribe(client, "notifications:user-1")
    write(client, messages)
    one = worker(client, "one", clock)
    drain([one], clock)
    part = parts.of_device("phone-1")
    keys = processed_keys(client, "phone-1")
    assert sorted(keys) == sorted(expected_keys(messages))
    assert len(keys) == len(set(keys))
    windows: Any = client.hgetall(part.windows("phone-1"))
    stored = {k: decode_record(v) for k, v in windows.items()}
    assert set(stored) == set(keys)
    ends: Any = client.zrange(part.window_ends("phone-1"), 0, -1, withscores=True)
    assert {k: int(s) for k, s in ends} == {k: r.window_end_ms for k, r in stored.items()}
    fields: Any = client.hgetall(part.state("phone-1"))
    state = decode_state("phone-1", fields)
    last = max(stored.values(), key=lambda r: r.window_end_ms)
    assert (state.activity, state.window_end_ms) == (last.activity, last.window_end_ms)
    assert state.since_ms <= last.owned_start_ms
    assert pending(client, "phone-1") == 0
    message = sub.get_message(timeout=2.0)
    sub.close()
    assert message is not None
    event = json.loads(message["data"])
    first = min(stored.values(), key=lambda r: r.window_end_ms)
    assert event == {
        "type": "activity_changed",
        "device_id": "phone-1",
        "session_id": "session-1",
        "activity": first.activity.value,
        "confidence": first.confidence,
        "since": format_time(datetime.fromtimestamp(first.owned_start_ms / 1000, UTC)),
        "window_end": format_time(datetime.fromtimestamp(first.window_end_ms / 1000, UTC)),
    }


def test_a_quiet_devices_windows_and_state_expire_after_the_retention(
    client: BlockingClient,
) -> None:
    clock = Clock()
    write(client, recording("phone-1", (clock.now // 10_000) * 10_000 - 60_000, 8))
    drain([worker(client, "one", clock)], clock)
    part = parts.of_device("phone-1")
    retention = RedisProcessorStore(client, "probe").retention_ms
    for key in (part.windows("phone-1"), part.window_ends("phone-1"), part.state("phone-1")):
        ttl = int(client.pttl(key))
        assert retention < ttl <= retention + KEY_TTL_MARGIN_MS, key


def test_the_same_activity_after_a_gap_starts_its_since_afresh(client: BlockingClient) -> None:
    clock = Clock()
    start = (clock.now // 10_000) * 10_000 - 120_000
    later = [
        SensorMessage(m.user_id, m.device_id, "session-2", f"late-{m.message_id}", m.readings)
        for m in recording("phone-1", start + 60_000, 8)
    ]
    write(client, recording("phone-1", start, 8))
    one = worker(client, "one", clock)
    drain([one], clock)
    first = decode_state("phone-1", client.hgetall(parts.of_device("phone-1").state("phone-1")))  # type: ignore[arg-type]
    write(client, later)
    drain([one], clock)
    second = decode_state("phone-1", client.hgetall(parts.of_device("phone-1").state("phone-1")))  # type: ignore[arg-type]
    assert first.activity == second.activity
    assert first.since_ms < start + 60_000 <= second.since_ms


def test_processing_the_same_entries_again_changes_nothing(client: BlockingClient) -> None:
    clock = Clock()
    messages = recording("phone-2", (clock.now // 10_000) * 10_000 - 60_000, 9)
    write(client, messages)
    first = worker(client, "first", clock)
    drain([first], clock)
    part = parts.of_device("phone-2")
    before = (
        client.xlen(part.processed),
        client.hgetall(part.windows("phone-2")),
        client.hgetall(part.state("phone-2")),
    )
    client.xgroup_setid(part.raw, GROUP, "0")  # every entry is delivered again
    gone(client, first)
    again = worker(client, "again", clock)
    drain([again], clock)
    after = (
        client.xlen(part.processed),
        client.hgetall(part.windows("phone-2")),
        client.hgetall(part.state("phone-2")),
    )
    assert after == before
    assert sample(again, "motion_processor_windows_replayed_total") == len(before[1])
    assert sample(again, "motion_processor_windows_total") == 0
    assert pending(client, "phone-2") == 0


def test_a_crashed_workers_pending_entries_rebuild_exactly_the_windows_it_had_not_written(
    client: BlockingClient,
) -> None:
    clock = Clock()
    messages = recording("phone-3", (clock.now // 10_000) * 10_000 - 60_000, 14)
    write(client, messages[:7])
    crashed = worker(client, "crashed", clock)
    for _ in range(5):
        crashed.run_once()
    written_before = processed_keys(client, "phone-3")
    assert written_before  # some windows are out,
    assert pending(client, "phone-3") > 0  # some still open
    gone(client, crashed)
    write(client, messages[7:])
    survivor = worker(client, "survivor", clock)
    drain([survivor], clock)
    keys = processed_keys(client, "phone-3")
    assert keys[: len(written_before)] == written_before
    assert sorted(keys) == sorted(expected_keys(messages))
    assert len(keys) == len(set(keys))
    assert sample(survivor, "motion_processor_claimed_entries_total") > 0
    assert pending(client, "phone-3") == 0


def test_a_worker_whose_lease_was_taken_writes_nothing_and_drops_the_partition(
    client: BlockingClient,
) -> None:
    clock = Clock()
    messages = recording("phone-4", (clock.now // 10_000) * 10_000 - 60_000, 8)
    stale = worker(client, "stale", clock)
    stale.run_once()  # takes every partition
    part = parts.of_device("phone-4")
    write(client, messages)
    client.set(part.lease, "someone-else", px=60_000)  # it stalled past its lease
    for _ in range(3):
        stale.run_once()
    assert part.index not in stale.owned
    assert client.xlen(part.processed) == 0
    assert client.exists(part.windows("phone-4"), part.state("phone-4")) == 0
    # Nothing was taken from the stream while the lease was another's.
    assert client.xinfo_groups(part.raw)[0]["last-delivered-id"] == "0-0"
    assert pending(client, "phone-4") == 0


def test_two_workers_split_the_partitions_and_one_takes_all_when_the_other_stops(
    client: BlockingClient,
) -> None:
    clock = Clock()
    one, two = worker(client, "one", clock), worker(client, "two", clock)
    for _ in range(12):  # a few rebalances each
        one.run_once()
        two.run_once()
        clock.now += CONFIG.lease_ms // 3
    assert len(one.owned) == len(two.owned) == PARTITIONS // 2
    assert not set(one.owned) & set(two.owned)
    assert sample(one, "motion_processor_partitions_held") == PARTITIONS // 2
    two.leases.release_all()
    two.owned.clear()
    clock.now += 2 * CONFIG.lease_ms  # its heartbeat is no longer live
    for _ in range(3):
        one.run_once()
        clock.now += CONFIG.lease_ms // 3
    assert len(one.owned) == PARTITIONS


def test_entries_that_are_no_message_or_of_another_partition_go_to_dead_letters(
    client: BlockingClient,
) -> None:
    clock = Clock()
    messages = recording("phone-5", (clock.now // 10_000) * 10_000 - 60_000, 8)
    part = parts.of_device("phone-5")
    stranger = next(d for d in (f"x-{n}" for n in range(100)) if parts.of_device(d) != part)
    client.xadd(part.raw, {"junk": "1"})
    foreign: Any = encode_message(recording(stranger, clock.now - 60_000, 1)[0], 0)
    client.xadd(part.raw, foreign)  # its keys would be in another slot
    write(client, messages)
    one = worker(client, "one", clock)
    drain([one], clock)
    assert client.xlen(keys.dead_letters(part.raw)) == 2
    assert sample(one, "motion_processor_dead_letters_total") == 2
    assert sorted(processed_keys(client, "phone-5")) == sorted(expected_keys(messages))
    assert pending(client, "phone-5") == 0
