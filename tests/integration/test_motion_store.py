"""The motion store contract: the Redis store (one Redis, the Redis Cluster) and the fake
agree on device claims, dedup, one entry per message, and reads of records and state."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.common.redis import BlockingClient, blocking_client
from services.motion import entries, records
from services.motion.domain import (
    Activity,
    ActivityRecord,
    ActivityState,
    DeviceOwnedByAnother,
    IngestResult,
    Reading,
    ReadingRejection,
    RecordCursor,
    SensorMessage,
    StoreUnavailable,
    TimeRange,
    TooManyDevices,
)
from services.motion.keys import Partitions
from services.motion.redis_store import RedisMotionStore
from services.motion.redis_store.store import PRUNE_GRACE_MS
from services.motion.repository import MotionStore
from tests.helpers import flush
from tests.integration.conftest import either_redis_url
from tests.unit.motion_fakes import FakeMotionStore, a_record

PARTITIONS = 16
NOW_MS = 1_780_000_000_000
HOUR_MS = 3_600_000


@dataclass
class Harness:
    """A store, and how the processor's outputs get into it."""

    store: MotionStore
    put_record: Callable[[ActivityRecord], None]
    put_state: Callable[[ActivityState], None]
    client: BlockingClient | None = None


def redis_writers(client: BlockingClient) -> tuple[Callable[..., None], Callable[..., None]]:
    """Write records and state where (and as) the processor writes them."""
    parts = Partitions(PARTITIONS)

    def put_record(record: ActivityRecord) -> None:
        part = parts.of_device(record.device_id)
        client.hset(
            part.windows(record.device_id), record.window_key, records.encode_record(record)
        )
        client.zadd(part.window_ends(record.device_id), {record.window_key: record.window_end_ms})

    def put_state(state: ActivityState) -> None:
        fields: dict[Any, Any] = dict(records.state_fields(state))
        client.hset(parts.of_device(state.device_id).state(state.device_id), mapping=fields)

    return put_record, put_state


@pytest.fixture(params=["fake", "one-redis", "redis-cluster"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """Each test runs on the fake, on one Redis and on the Redis Cluster."""
    if request.param == "fake":
        fake = FakeMotionStore()
        yield Harness(fake, fake.put_record, fake.put_state)
        return
    url = either_redis_url(request)
    flush(url)
    client = blocking_client(url, 5.0)
    try:
        put_record, put_state = redis_writers(client)
        store = RedisMotionStore(client, partitions=PARTITIONS)
        yield Harness(store, put_record, put_state, client)
    finally:
        client.close()


def message(
    message_id: str = "m1", device: str = "phone-1", user: str = "u1", n: int = 3
) -> SensorMessage:
    """A message of ``n`` accelerometer readings."""
    readings = tuple(
        Reading("accelerometer", NOW_MS - 1000 + 20 * i, (0.1, 9.8, float(i))) for i in range(n)
    )
    return SensorMessage(user, device, "s1", message_id, readings)


def answer(accepted: int = 3, *rejected: ReadingRejection) -> IngestResult:
    """What the service answers for a message."""
    return IngestResult(accepted, False, tuple(rejected))


def raw_entries(harness: Harness, device: str = "phone-1") -> list[SensorMessage]:
    """The messages stored for the device, decoded from the raw stream."""
    if isinstance(harness.store, FakeMotionStore):
        return [m for m in harness.store.raw if m.device_id == device]
    assert harness.client is not None
    stream = Partitions(PARTITIONS).of_device(device).raw
    found: list[SensorMessage] = []
    rows: Any = harness.client.xrange(stream)
    for entry_id, fields in rows:
        decoded = entries.decode_message(entry_id, fields).message
        if decoded.device_id == device:
            found.append(decoded)
    return found


def test_a_message_is_one_entry_and_a_retry_gets_the_first_answer(harness: Harness) -> None:
    first = answer(3, ReadingRejection(3, "values[0] must be finite"))
    assert harness.store.append(message(), first, NOW_MS) == first
    again = harness.store.append(message(), answer(3), NOW_MS + 5000)
    assert again == IngestResult(3, True, first.rejected)
    (stored,) = raw_entries(harness)
    assert stored == message()


def test_the_same_message_id_of_another_device_is_stored_too(harness: Harness) -> None:
    harness.store.append(message(device="phone-1"), answer(), NOW_MS)
    assert not harness.store.append(message(device="phone-2"), answer(), NOW_MS).duplicate
    assert len(raw_entries(harness, "phone-2")) == 1


def test_a_message_id_is_forgotten_after_the_dedup_window() -> None:
    fake = FakeMotionStore(dedup_ms=1000)
    fake.append(message(), answer(), NOW_MS)
    assert not fake.append(message(), answer(), NOW_MS + 1001).duplicate


def test_the_first_user_owns_a_device_and_another_is_refused(harness: Harness) -> None:
    device = harness.store.claim_device("alice", "phone-1", 10, NOW_MS)
    assert (device.user_id, device.first_seen_ms) == ("alice", NOW_MS)
    assert harness.store.claim_device("alice", "phone-1", 10, NOW_MS + 9) == device
    with pytest.raises(DeviceOwnedByAnother):
        harness.store.claim_device("mallory", "phone-1", 10, NOW_MS)
    assert harness.store.device("phone-1") == device
    assert harness.store.devices_of("mallory") == []
    assert harness.store.device("phone-9") is None


def test_a_user_owns_at_most_max_devices_but_keeps_using_his_own(harness: Harness) -> None:
    for n in range(3):
        harness.store.claim_device("u1", f"phone-{n}", 3, NOW_MS + n)
    with pytest.raises(TooManyDevices):
        harness.store.claim_device("u1", "phone-9", 3, NOW_MS)
    harness.store.claim_device("u1", "phone-0", 3, NOW_MS)
    listed = harness.store.devices_of("u1")
    assert [d.device_id for d in listed] == ["phone-2", "phone-1", "phone-0"]
    assert harness.store.device("phone-9") is None


def test_concurrent_claims_never_exceed_the_bound(harness: Harness) -> None:
    outcomes: list[str] = []

    def claim(n: int) -> None:
        try:
            harness.store.claim_device("u1", f"phone-{n}", 4, NOW_MS)
            outcomes.append("ok")
        except TooManyDevices:
            outcomes.append("full")

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full"] * 8 + ["ok"] * 4
    assert len(harness.store.devices_of("u1")) == 4


@pytest.fixture
def redis_store(either_redis: str) -> Iterator[tuple[RedisMotionStore, BlockingClient]]:
    """The Redis store alone (one Redis, then the cluster), for what only it can leave."""
    flush(either_redis)
    client = blocking_client(either_redis, 5.0)
    try:
        yield RedisMotionStore(client, partitions=PARTITIONS), client
    finally:
        client.close()


def leave_reservations(client: BlockingClient, user: str, at_ms: int, count: int) -> None:
    """Listed devices nobody owns: what claims that died after reserving leave."""
    key = Partitions(PARTITIONS).of_user(user).devices_of(user)
    client.zadd(key, {f"ghost-{n}": at_ms for n in range(count)})


def test_reservations_of_dead_claims_are_hidden_and_pruned_once_old(
    redis_store: tuple[RedisMotionStore, BlockingClient],
) -> None:
    store, client = redis_store
    leave_reservations(client, "u1", NOW_MS - PRUNE_GRACE_MS - 1, 3)
    assert store.devices_of("u1") == []
    assert store.claim_device("u1", "phone-1", 3, NOW_MS).user_id == "u1"
    assert [d.device_id for d in store.devices_of("u1")] == ["phone-1"]
    key = Partitions(PARTITIONS).of_user("u1").devices_of("u1")
    assert client.zrange(key, 0, -1) == ["phone-1"]


def test_a_fresh_reservation_may_be_a_running_claim_and_is_kept(
    redis_store: tuple[RedisMotionStore, BlockingClient],
) -> None:
    store, client = redis_store
    leave_reservations(client, "u1", NOW_MS - 1000, 3)
    with pytest.raises(TooManyDevices):
        store.claim_device("u1", "phone-1", 3, NOW_MS)
    assert store.device("phone-1") is None


def test_a_claim_lost_to_another_user_takes_its_reservation_back(
    redis_store: tuple[RedisMotionStore, BlockingClient],
) -> None:
    store, client = redis_store
    parts = Partitions(PARTITIONS)
    # Bob's claim won between Alice's read of the device and her claim.
    client.hset(
        parts.of_device("phone-1").device("phone-1"), mapping={"owner": "bob", "first_seen": 1}
    )
    store.device = lambda device_id: None  # type: ignore[method-assign]
    with pytest.raises(DeviceOwnedByAnother):
        store.claim_device("alice", "phone-1", 3, NOW_MS)
    assert client.zrange(parts.of_user("alice").devices_of("alice"), 0, -1) == []


def test_an_unreadable_record_or_state_is_skipped(
    redis_store: tuple[RedisMotionStore, BlockingClient],
) -> None:
    store, client = redis_store
    put_record, _ = redis_writers(client)
    put_record(a_record(0))
    put_record(a_record(2500))
    part = Partitions(PARTITIONS).of_device("phone-1")
    client.hset(part.windows("phone-1"), "s1/0", "{not json")
    client.hset(part.state("phone-1"), mapping={"activity": "flying"})
    found = store.records("phone-1", TimeRange(0, 10**6), None, 10)
    assert [r.window_key for r in found] == ["s1/2500"]
    assert store.current("phone-1") is None


def test_a_message_entry_holds_its_accepted_readings_whole(
    redis_store: tuple[RedisMotionStore, BlockingClient],
) -> None:
    store, client = redis_store
    store.append(message(n=1000), answer(1000), NOW_MS)
    stream = Partitions(PARTITIONS).of_device("phone-1").raw
    rows: Any = client.xrange(stream)
    ((entry_id, fields),) = rows
    decoded = entries.decode_message(entry_id, fields)
    assert decoded.message == message(n=1000)
    assert decoded.ingested_ms == NOW_MS


def test_entries_older_than_the_raw_retention_are_trimmed(
    redis_store: tuple[RedisMotionStore, BlockingClient],
) -> None:
    _, client = redis_store
    stream = Partitions(PARTITIONS).of_device("phone-1").raw
    client.xadd(stream, {"old": "1"}, id="1000-0")
    store = RedisMotionStore(client, partitions=PARTITIONS, raw_retention_ms=HOUR_MS)
    store.append(message(), answer(), NOW_MS)
    rows: Any = client.xrange(stream)
    assert [fields.get("m") for _, fields in rows] == ["m1"]


def test_records_come_by_window_end_then_key_after_the_cursor(harness: Harness) -> None:
    for n in range(6):
        harness.put_record(a_record(n * 2500))
        harness.put_record(a_record(n * 2500, session_id="s0"))
    harness.put_record(a_record(0, device_id="phone-2"))
    everything = TimeRange(0, 10**12)
    first = harness.store.records("phone-1", everything, None, 5)
    assert [(r.window_end_ms, r.window_key) for r in first][:3] == [
        (5000, "s0/0"),
        (5000, "s1/0"),
        (7500, "s0/2500"),
    ]
    cursor = RecordCursor(first[-1].window_end_ms, first[-1].window_key)
    rest = harness.store.records("phone-1", everything, cursor, 100)
    keys = [r.window_key for r in first + rest]
    assert len(keys) == len(set(keys)) == 12
    assert harness.store.records("phone-1", everything, None, 1)[0] == a_record(0, session_id="s0")


def test_records_are_read_by_window_end_within_the_range(harness: Harness) -> None:
    for n in range(6):
        harness.put_record(a_record(n * 2500))
    found = harness.store.records("phone-1", TimeRange(7500, 15_000), None, 100)
    assert [r.window_end_ms for r in found] == [7500, 10_000, 12_500]


def test_a_cursor_past_the_ranges_end_reads_nothing(harness: Harness) -> None:
    for n in range(6):
        harness.put_record(a_record(n * 2500))
    beyond = RecordCursor(15_000, "s1/10000")  # a token of a page read with a later end
    assert harness.store.records("phone-1", TimeRange(0, 12_500), beyond, 100) == []


def test_a_device_without_records_reads_none(harness: Harness) -> None:
    assert harness.store.records("phone-1", TimeRange(0, 10**12), None, 10) == []
    after = RecordCursor(5000, "s1/0")
    assert harness.store.records("phone-1", TimeRange(0, 10**12), after, 10) == []


def test_the_current_state_reads_back_as_the_processor_wrote_it(harness: Harness) -> None:
    assert harness.store.current("phone-1") is None
    state = ActivityState("phone-1", Activity.WALKING, 0.875, NOW_MS - 30_000, NOW_MS)
    harness.put_state(state)
    assert harness.store.current("phone-1") == state


def test_a_dead_redis_is_store_unavailable() -> None:
    client = blocking_client("redis://127.0.0.1:1/0", 0.2)
    store = RedisMotionStore(client, partitions=PARTITIONS)
    for call in (
        lambda: store.append(message(), answer(), NOW_MS),
        lambda: store.claim_device("u1", "phone-1", 3, NOW_MS),
        lambda: store.records("phone-1", TimeRange(0, 1), None, 1),
        lambda: store.devices_of("u1"),
        lambda: store.current("phone-1"),
    ):
        with pytest.raises(StoreUnavailable):
            call()
