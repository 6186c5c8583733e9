"""The health benchmark's helpers: simulated heart rate, the store's points, COPY tuples."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta

import numpy as np

from bench.health.common import (
    BATCH,
    COPY_HEADER,
    batches,
    copy_minutes,
    copy_points,
    heart_rate_day,
    points_of,
)
from services.health_metrics.domain import SPECS, Metric

DAY = date(2026, 11, 1)


def test_a_simulated_day_is_one_whole_bpm_a_second_within_the_metrics_range() -> None:
    micros, values = heart_rate_day(DAY, seed=3)
    assert len(micros) == len(values) == 86_400
    assert set(np.diff(micros).tolist()) == {1_000_000}
    spec = SPECS[Metric.HEART_RATE]
    assert spec.low <= values.min()
    assert values.max() <= spec.high
    assert np.array_equal(values, np.round(values))


def test_points_start_at_the_days_utc_midnight_one_second_apart() -> None:
    micros, values = heart_rate_day(DAY, seed=3)
    points = points_of(micros[:3], values[:3])
    midnight = datetime(2026, 11, 1, tzinfo=UTC)
    assert [p.time for p in points] == [midnight + timedelta(seconds=s) for s in range(3)]
    assert [p.value for p in points] == values[:3].tolist()


def test_batches_hold_at_most_the_services_batch_and_every_point_once() -> None:
    micros, values = heart_rate_day(DAY, seed=3)
    points = points_of(micros, values)
    cut = batches(points)
    assert [len(b) for b in cut] == [BATCH] * 8 + [6_400]
    assert [p for b in cut for p in b] == points


def test_a_copy_tuple_is_four_length_prefixed_big_endian_fields() -> None:
    micros, values = heart_rate_day(DAY, seed=3)
    tuples = copy_points("u1", micros[:2], values[:2])
    first = struct.unpack(">hi2si10siqid", tuples[: len(tuples) // 2])
    assert first == (4, 2, b"u1", 10, b"heart_rate", 8, int(micros[0]), 8, values[0])
    # 2026-11-01 is 9,801 days after PostgreSQL's epoch, 2000-01-01.
    assert int(micros[0]) == 9_801 * 86_400 * 1_000_000


def test_the_dirty_minutes_of_a_day_are_its_1440_minute_starts() -> None:
    micros, _ = heart_rate_day(DAY, seed=3)
    tuples = copy_minutes("u1", micros)
    size = struct.calcsize(">hi2si10siq")
    assert len(tuples) == 1_440 * size
    last = struct.unpack(">hi2si10siq", tuples[-size:])
    assert last[-1] == int(micros[-1]) - 59 * 1_000_000


def test_the_copy_header_is_postgresqls_binary_signature_without_flags() -> None:
    assert COPY_HEADER == b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
