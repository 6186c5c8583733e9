"""The motion warehouse sinks on a real PostgreSQL and a real Redis (one node and the
cluster): every reading and every window lands once, whatever is delivered twice, a
SIGKILLed sink process loses and duplicates nothing, poison goes to dead letters, and a
stopped warehouse leaves every unwritten entry pending until it is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from deploy import embedded_postgres
from deploy.local import free_port
from deploy.polling import wait_for
from services.common.redis import BlockingClient, blocking_client
from services.motion.domain import Activity, ActivityRecord, Features, Reading, SensorMessage
from services.motion.entries import encode_message
from services.motion.keys import Partitions, dead_letters
from services.motion.records import encode_record
from services.motion.sink.metrics import SinkMetrics
from services.motion.sink.rows import KINDS, PROCESSED_KIND, RAW_KIND
from services.motion.sink.worker import Sink, SinkConfig
from services.motion.warehouse import PROCESSED, RAW, MotionWarehouse
from tests.helpers import flush, server_reachable_dir

PARTITIONS = Partitions(16)
T0 = 1_780_000_000_000  # 2026-05-28, ms
READINGS = 50  # per message: one second at 50 Hz


@pytest.fixture
def client(either_redis: str) -> Iterator[BlockingClient]:
    """A blocking client of an emptied Redis (the test runs on both topologies)."""
    flush(either_redis)
    made = blocking_client(either_redis, 5.0)
    yield made
    made.close()


@pytest.fixture
def warehouse(postgres_url: str) -> Iterator[MotionWarehouse]:
    """The motion tables in a new, empty database."""
    made = MotionWarehouse(postgres_url)
    yield made
    made.close()


def message(device: str, n: int, readings: int = READINGS) -> SensorMessage:
    """Message ``n`` of ``device``: ``readings`` accelerometer samples at 50 Hz."""
    start = T0 + n * 1000
    samples = tuple(
        Reading("accelerometer", start + 20 * i, (0.1 * i, -0.2, 9.81)) for i in range(readings)
    )
    return SensorMessage(f"user-{device}", device, "s1", f"m{n}", samples)


def add_raw(client: BlockingClient, device: str, n: int, readings: int = READINGS) -> str:
    """Append message ``n`` of ``device`` to its raw stream; the entry id."""
    stream = PARTITIONS.of_device(device).raw
    return str(client.xadd(stream, encode_message(message(device, n, readings), T0)))  # type: ignore[arg-type]


def record(device: str, n: int) -> ActivityRecord:
    """Window ``n`` of ``device`` (5 s sliding by 2.5 s)."""
    start = T0 + n * 2500
    features = Features(12.1, 3.2, 1.9, 0.8, 50.0, 250, 1.0)
    return ActivityRecord(
        device, f"user-{device}", "s1", f"m{n}", start, start + 5000, start, start + 2500,
        features, Activity.WALKING, 0.9,
    )  # fmt: skip


def add_processed(client: BlockingClient, device: str, n: int) -> str:
    """Append window ``n`` of ``device`` to its processed stream, as the processor does."""
    stream = PARTITIONS.of_device(device).processed
    return str(client.xadd(stream, {"record": encode_record(record(device, n))}))


def fill(client: BlockingClient, devices: int, messages: int) -> None:
    """``messages`` raw messages and as many windows for each of ``devices`` devices."""
    for d in range(devices):
        for n in range(messages):
            add_raw(client, f"dev-{d}", n)
            add_processed(client, f"dev-{d}", n)


def sink(
    client: BlockingClient, warehouse: MotionWarehouse, name: str = "t1", **config: Any
) -> Sink:
    """A sink of both streams with its own metrics."""
    settings = SinkConfig(**{"poll_idle_seconds": 0.05, **config})
    metrics = SinkMetrics(CollectorRegistry())
    return Sink(client, warehouse, tuple(KINDS.values()), name, settings, metrics)


def drain(worker: Sink) -> int:
    """Run rounds until one settles nothing; the entries settled."""
    total = 0
    while handled := worker.run_once():
        total += handled
    return total


def counts(warehouse: MotionWarehouse) -> tuple[int, int]:
    """Rows of the raw table and of the processed table."""
    return warehouse.count(RAW), warehouse.count(PROCESSED)


def unsettled(client: BlockingClient) -> dict[str, tuple[int, int]]:
    """(lag, pending) of each sink over its streams."""
    status = sink(client, MotionWarehouse("postgresql://unused")).status()
    return {s.kind: (s.lag, s.pending) for s in status}


def dead(client: BlockingClient, kind: str) -> list[dict[str, str]]:
    """The dead letters of a sink's streams."""
    letters: list[dict[str, str]] = []
    for part in PARTITIONS.all:
        stream = part.raw if kind == "raw" else part.processed
        entries: Any = client.xrange(dead_letters(stream))
        letters.extend(fields for _, fields in entries)
    return letters


def test_each_reading_and_window_lands_once_and_in_its_columns(
    client: BlockingClient, warehouse: MotionWarehouse
) -> None:
    fill(client, devices=4, messages=5)

    assert drain(sink(client, warehouse)) == 2 * 4 * 5

    assert counts(warehouse) == (4 * 5 * READINGS, 4 * 5)
    _, raw = warehouse_query(warehouse, 'SELECT ts, "values", ingested_at FROM '
                             f"{RAW.name} WHERE device_id = 'dev-1' AND message_id = 'm2'"
                             " AND reading_index = 3")  # fmt: skip
    ts, values, ingested = raw[0]
    assert int(ts.timestamp() * 1000) == T0 + 2000 + 60
    assert values == pytest.approx([0.3, -0.2, 9.81])
    assert int(ingested.timestamp() * 1000) == T0
    _, windows = warehouse_query(warehouse, f"SELECT window_key, activity, samples FROM"
                                 f" {PROCESSED.name} WHERE device_id = 'dev-3'"
                                 " ORDER BY window_start_ms")  # fmt: skip
    assert windows[0] == (f"s1/{T0}", "walking", 250)
    assert unsettled(client) == {"raw": (0, 0), "processed": (0, 0)}


def warehouse_query(warehouse: MotionWarehouse, sql: str) -> tuple[list[str], list[Any]]:
    """Column names and rows of a query on the warehouse's connection."""
    cursor = warehouse._connection().execute(sql)
    return [c.name for c in cursor.description or []], cursor.fetchall()


def test_entries_delivered_twice_write_their_rows_once(
    client: BlockingClient, warehouse: MotionWarehouse
) -> None:
    fill(client, devices=3, messages=4)
    first = sink(client, warehouse, "first")
    drain(first)
    # The acks were lost: the groups start over and every entry is delivered again.
    for part in PARTITIONS.all:
        client.xgroup_setid(part.raw, RAW_KIND.group, "0")
        client.xgroup_setid(part.processed, PROCESSED_KIND.group, "0")
    again = sink(client, warehouse, "again")

    assert drain(again) == 2 * 3 * 4
    assert counts(warehouse) == (3 * 4 * READINGS, 3 * 4)
    assert duplicate_rows(again) == {RAW.name: 3 * 4 * READINGS, PROCESSED.name: 3 * 4}


def test_the_same_message_appended_twice_writes_its_readings_once(
    client: BlockingClient, warehouse: MotionWarehouse
) -> None:
    add_raw(client, "dev-0", 1)
    add_raw(client, "dev-0", 1)
    add_processed(client, "dev-0", 1)
    add_processed(client, "dev-0", 1)

    assert drain(sink(client, warehouse)) == 4
    assert counts(warehouse) == (READINGS, 1)


def test_a_message_id_reused_after_the_dedup_window_is_another_message(
    client: BlockingClient, warehouse: MotionWarehouse
) -> None:
    stream = PARTITIONS.of_device("dev-0").raw
    reused = message("dev-0", 1)
    client.xadd(stream, encode_message(reused, T0))  # type: ignore[arg-type]
    client.xadd(stream, encode_message(reused, T0 + 86_400_000))  # type: ignore[arg-type]
    assert drain(sink(client, warehouse)) == 2
    assert counts(warehouse) == (2 * READINGS, 0)


def duplicate_rows(worker: Sink) -> dict[str, float]:
    """The rows a sink found already written, per table."""
    return {
        sample.labels["table"]: sample.value
        for family in worker.metrics.registry.collect()
        if family.name == "motion_sink_duplicate_rows"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


POISON_RAW = [
    {"x": "not a message"},
    {"u": "u", "d": "d", "s": "s", "m": "m", "i": "1", "r": "not json"},
    {"u": "u", "d": "d", "s": "s", "m": "m", "i": "1", "r": "3"},
    {"u": "u", "d": "d\x00", "s": "s", "m": "m", "i": "1", "r": '[["a",1,[1.0]]]'},
    {"u": "u", "d": "d", "s": "s", "m": "m", "i": "1", "r": '[["a",1e300,[1.0]]]'},
    {"u": "u", "d": "d", "s": "s", "m": "m", "i": "1", "r": '[["\\ud800",1,[1.0]]]'},
    {"u": "u", "d": "d", "s": "s", "m": "m", "i": "1", "r": '[["a",99999999999999999,[1]]]'},
]
POISON_PROCESSED = [{"record": "{}"}, {"record": "[]"}, {"other": "field"}, {"record": "nan"}]


def test_poison_entries_are_dead_lettered_and_the_rest_land(
    client: BlockingClient, warehouse: MotionWarehouse
) -> None:
    device = "dev-0"
    add_raw(client, device, 1)
    for fields in POISON_RAW:
        client.xadd(PARTITIONS.of_device(device).raw, fields)  # type: ignore[arg-type]
    for fields in POISON_PROCESSED:
        client.xadd(PARTITIONS.of_device(device).processed, fields)  # type: ignore[arg-type]
    add_processed(client, device, 1)
    worker = sink(client, warehouse)

    drain(worker)

    assert counts(warehouse) == (READINGS, 1)
    assert len(dead(client, "raw")) == len(POISON_RAW)
    assert len(dead(client, "processed")) == len(POISON_PROCESSED)
    assert {f["dead_reason"] for f in dead(client, "raw") + dead(client, "processed")} == {
        "unreadable"
    }
    assert unsettled(client) == {"raw": (0, 0), "processed": (0, 0)}
    assert {s.kind: s.dead_letters for s in worker.status()} == {
        "raw": len(POISON_RAW),
        "processed": len(POISON_PROCESSED),
    }


def test_an_entry_whose_rows_postgresql_refuses_is_dead_lettered_and_its_batch_lands(
    client: BlockingClient, warehouse: MotionWarehouse
) -> None:
    warehouse.ensure_schema()
    # A narrower column than the sink writes: one sensor name PostgreSQL refuses (22001).
    alter = f"ALTER TABLE {RAW.name} ALTER COLUMN sensor TYPE varchar(20)"
    warehouse._connection().execute(alter)
    for n in range(3):
        add_raw(client, "dev-0", n)
    readings = (Reading("a-sensor-with-a-long-name", T0, (1.0,)),)
    refused = SensorMessage("user-dev-0", "dev-0", "s1", "m9", readings)
    fields = encode_message(refused, T0)
    client.xadd(PARTITIONS.of_device("dev-0").raw, fields)  # type: ignore[arg-type]

    drain(sink(client, warehouse))

    assert counts(warehouse)[0] == 3 * READINGS
    assert [f["dead_reason"] for f in dead(client, "raw")] == ["refused"]
    assert unsettled(client)["raw"] == (0, 0)


@pytest.fixture
def stoppable_postgres() -> Iterator[tuple[Path, int]]:
    """A PostgreSQL of this test's own (data dir, port), which the test stops and starts."""
    with server_reachable_dir("pytest-motion-pg-") as root:
        yield root / "data", free_port()


def test_a_stopped_warehouse_leaves_every_unwritten_entry_pending_until_it_is_back(
    client: BlockingClient, stoppable_postgres: tuple[Path, int]
) -> None:
    data, port = stoppable_postgres
    server = embedded_postgres.start(data, port)
    warehouse = MotionWarehouse(server.url)
    # Taken over after 0.2 s idle, dead-lettered at the 2nd delivery: an outage must do neither.
    worker = sink(client, warehouse, claim_idle_seconds=0.2, max_deliveries=2)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_until, args=(stop,))
    thread.start()
    try:
        fill(client, devices=2, messages=3)
        wait_for(lambda: counts(warehouse) == (2 * 3 * READINGS, 2 * 3), 20, "first rows")
        server.stop()
        fill_more(client)
        wait_for(lambda: worker.backoff >= 2, 30, "backing off")
        assert sum(unsettled(client)["raw"]) == sum(unsettled(client)["processed"]) == 2 * 2
        server = embedded_postgres.start(data, port)
        wait_for(lambda: unsettled(client) == {"raw": (0, 0), "processed": (0, 0)}, 40, "acks")
        assert counts(warehouse) == (2 * 5 * READINGS, 2 * 5)
    finally:
        stop.set()
        thread.join()
        warehouse.close()
        server.stop()
    assert dead(client, "raw") == dead(client, "processed") == []


def fill_more(client: BlockingClient) -> None:
    """Messages and windows 3 and 4 of both devices (after 0-2 of ``fill``)."""
    for d in range(2):
        for n in (3, 4):
            add_raw(client, f"dev-{d}", n)
            add_processed(client, f"dev-{d}", n)


def sink_process(redis_url: str, warehouse_url: str, metrics_port: int) -> subprocess.Popen[bytes]:
    """``python -m services.motion.sink``, small batches, quick takeovers."""
    env = {
        **os.environ,
        "MOTION_SINK_REDIS_URL": redis_url,
        "MOTION_SINK_WAREHOUSE_URL": warehouse_url,
        "MOTION_SINK_BATCH": "20",
        "MOTION_SINK_CLAIM_IDLE_SECONDS": "1",
        "MOTION_SINK_POLL_IDLE_SECONDS": "0.05",
        "MOTION_SINK_METRICS_PORT": str(metrics_port),
    }
    return subprocess.Popen([sys.executable, "-m", "services.motion.sink"], env=env)


def pending(client: BlockingClient) -> int:
    """Entries read by some sink and not acked."""
    return sum(p for _, p in unsettled(client).values())


def scrape(port: int, name: str) -> dict[str, float]:
    """A family's samples on a sink's metrics port, by their first label's value."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    return {
        next(iter(s.labels.values()), ""): s.value
        for family in text_string_to_metric_families(text)
        if family.name == name
        for s in family.samples
        if not s.name.endswith("_created")
    }


@pytest.mark.parametrize("either_redis", ["one-redis"], indirect=True)
def test_a_sigkilled_sink_process_restarted_loses_nothing_and_duplicates_nothing(
    client: BlockingClient, either_redis: str, postgres_url: str
) -> None:
    devices, messages = 8, 60
    fill(client, devices, messages)
    warehouse = MotionWarehouse(postgres_url)
    first = sink_process(either_redis, postgres_url, free_port())
    try:
        # Mid-stream: rows written, and a batch read but not acked.
        wait_for(lambda: counts(warehouse)[0] > 0 and pending(client) > 0, 30, "mid-batch", 0.01)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    written_before, left_pending = counts(warehouse), pending(client)
    assert written_before[0] < devices * messages * READINGS
    port = free_port()
    second = sink_process(either_redis, postgres_url, port)
    try:
        wait_for(lambda: unsettled(client) == {"raw": (0, 0), "processed": (0, 0)}, 60, "drained")
        redelivered = scrape(port, "motion_sink_duplicate_rows")
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
    finally:
        if second.poll() is None:
            second.kill()
    assert counts(warehouse) == (devices * messages * READINGS, devices * messages)
    # What the killed process had read but not acked was delivered again and written once.
    print(
        f"killed with {written_before} rows written and {left_pending} entries pending;"
        f" rows redelivered and skipped: {redelivered}"
    )
    warehouse.close()
