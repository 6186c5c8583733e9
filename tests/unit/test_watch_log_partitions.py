"""Partition tags spread over the slot ranges, users map stably, entries read back as written."""

from __future__ import annotations

import itertools
import zlib
from datetime import UTC, date, datetime

import pytest
from redis.crc import key_slot

from services.common.slots import slot_range
from services.watch_logs import entries, summaries
from services.watch_logs.domain import WatchLog
from services.watch_logs.partitions import Partitions


@pytest.mark.parametrize("count", [1, 3, 16, 100])
def test_each_partition_tag_lands_in_its_own_slot_range(count: int) -> None:
    parts = Partitions(count).all
    assert [p.index for p in parts] == list(range(count))
    for part in parts:
        assert part.slot in slot_range(part.index, count)
    ranges = [slot_range(i, count) for i in range(count)]
    assert ranges[0].start == 0
    assert ranges[-1].stop == 16384
    assert all(a.stop == b.start for a, b in itertools.pairwise(ranges))


def test_every_key_of_a_partition_shares_its_slot() -> None:
    part = Partitions(16).all[5]
    keys = [part.stream, part.dead_letters, part.seen("u1", "m1"), part.day("u1", date(2026, 1, 2))]
    assert {key_slot(k.encode()) for k in keys} == {part.slot}
    assert part.stream == f"watchlogs:{{{part.tag}}}:log"
    assert part.day("u1", date(2026, 1, 2)).endswith(":day:u1:2026-01-02")


def test_a_user_maps_to_the_same_partition_in_every_instance() -> None:
    users = [f"user-{n}" for n in range(200)]
    first, second = Partitions(16), Partitions(16)
    assert [first.index_of(u) for u in users] == [second.index_of(u) for u in users]
    assert all(first.index_of(u) == zlib.crc32(u.encode()) % 16 for u in users)
    assert len({first.index_of(u) for u in users}) == 16  # 200 users reach every partition


def test_the_tags_are_the_same_every_time() -> None:
    assert [p.tag for p in Partitions(16).all] == [p.tag for p in Partitions(16).all]


def test_zero_partitions_are_refused() -> None:
    with pytest.raises(ValueError, match="partitions"):
        Partitions(0)


LOG = WatchLog(
    message_id="m-1",
    device_id="watch-1",
    device_model="Forerunner 265",
    firmware="20.26",
    timestamp=datetime(2026, 3, 4, 23, 59, 30, 125000, tzinfo=UTC),
    activity="running",
    duration_s=90,
    steps=250,
    heart_rate=151,
    calories=0.1 + 0.2,
    distance_m=312.5,
    floors=2,
    battery=64,
)


def test_an_entry_reads_back_as_the_log_that_was_written() -> None:
    fields = dict(zip(entries.FIELDS, entries.encode("u1", LOG), strict=True))
    assert entries.decode(fields) == ("u1", LOG)


@pytest.mark.parametrize(
    "change", [{"activity": "dancing"}, {"steps": "many"}, {"timestamp": "yesterday"}]
)  # each fails a different parse (ValueError's message is the parser's own)
def test_an_entry_that_is_not_a_log_is_refused(change: dict[str, str]) -> None:
    fields = dict(zip(entries.FIELDS, entries.encode("u1", LOG), strict=True)) | change
    with pytest.raises(ValueError, match=r".+"):
        entries.decode(fields)


def test_an_entry_missing_a_field_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks"):
        entries.decode({"activity": "rest"})


def test_increments_count_active_seconds_and_only_measured_heart_rates() -> None:
    fields = dict(zip(entries.FIELDS, entries.encode("u1", LOG), strict=True))
    run = summaries.increment(fields)
    assert (run.day, run.active_seconds, run.hr_sum, run.hr_count, run.hr_max) == (
        date(2026, 3, 4),
        90,
        151,
        1,
        151,
    )
    asleep = fields | {"activity": "sleep", "heart_rate": "0"}
    rest = summaries.increment(asleep)
    assert (rest.active_seconds, rest.hr_sum, rest.hr_count) == (0, 0, 0)


def test_a_summary_is_the_sum_of_its_increments() -> None:
    fields = dict(zip(entries.FIELDS, entries.encode("u1", LOG), strict=True))
    counters: dict[str, str] = {}
    summaries.add(counters, summaries.increment(fields))
    summaries.add(counters, summaries.increment(fields | {"heart_rate": "0", "steps": "10"}))
    day = summaries.summary(date(2026, 3, 4), counters)
    assert (day.samples, day.steps, day.floors, day.max_heart_rate) == (2, 260, 4, 151)
    assert day.mean_heart_rate == 151.0
    assert day.active_minutes == 3.0
    assert day.calories == pytest.approx(0.6)


def test_a_day_without_heart_rates_has_mean_zero() -> None:
    assert summaries.summary(date(2026, 1, 1), {"samples": "3"}).mean_heart_rate == 0.0


@pytest.mark.parametrize(
    "change", [{"steps": "-1"}, {"floors": str(2**40)}, {"calories": "nan"}, {"distance_m": "inf"}]
)
def test_an_entry_whose_counters_could_not_be_counted_is_poison(change: dict[str, str]) -> None:
    fields = dict(zip(entries.FIELDS, entries.encode("u1", LOG), strict=True)) | change
    with pytest.raises(ValueError, match="negative or too large"):
        summaries.increment(fields)


def test_dedup_keys_of_ids_holding_colons_do_not_collide() -> None:
    partition = Partitions(1).all[0]  # both users in one partition, as could happen

    assert partition.seen("a:b", "c") != partition.seen("a", "b:c")
