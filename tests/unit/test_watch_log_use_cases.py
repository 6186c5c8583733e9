"""The watch-log use cases over the in-memory store: batches, reads, rollups, summaries."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from services.watch_logs import service
from services.watch_logs.domain import (
    BucketWidth,
    InvalidInput,
    LogFilter,
    RangeTooLarge,
    StoreUnavailable,
    WatchLog,
)
from services.watch_logs.service import Limits, WatchLogDeps
from tests.unit.test_watch_log_rules import NOW, a_log
from tests.unit.watch_log_fakes import FakeWatchLogStore


def deps(
    store: FakeWatchLogStore, scan_budget: int = 20_000, aggregate_budget: int = 500_000
) -> WatchLogDeps:
    """The use cases' dependencies, at NOW."""
    limits = Limits(scan_budget=scan_budget, aggregate_budget=aggregate_budget)
    return WatchLogDeps(store=store, limits=limits, clock=lambda: NOW)


def logs(count: int, **changes: object) -> list[WatchLog]:
    """``count`` valid logs with message ids m0, m1, ..., a minute apart."""
    return [
        dataclasses.replace(
            a_log(**changes), message_id=f"m{n}", timestamp=NOW - timedelta(minutes=n + 1)
        )
        for n in range(count)
    ]


def test_a_batch_is_stored_and_its_retry_only_counts_duplicates() -> None:
    store = FakeWatchLogStore()
    first = service.ingest(deps(store), "u1", logs(3))
    again = service.ingest(deps(store), "u1", logs(3))
    assert (first.accepted, first.duplicates, first.rejected) == (3, 0, ())
    assert (again.accepted, again.duplicates) == (0, 3)
    assert len(service.list_logs(deps(store), _everything(), 100, None).logs) == 3


def test_bad_entries_are_listed_with_their_index_and_the_good_ones_stored() -> None:
    store = FakeWatchLogStore()
    batch: list[service.Candidate] = [
        *logs(2),
        a_log(message_id="bad", steps=-1),
        InvalidInput("timestamp must be RFC 3339"),
        dataclasses.replace(logs(1)[0]),  # m0 again, within the batch
    ]
    result = service.ingest(deps(store), "u1", batch)
    assert result.accepted == 2
    assert [(r.index, r.message_id) for r in result.rejected] == [(2, "bad"), (3, ""), (4, "m0")]
    assert "steps must be between" in result.rejected[0].reason
    assert result.rejected[1].reason == "timestamp must be RFC 3339"
    assert result.rejected[2].reason == "repeats the message_id of entry 0"


def test_a_batch_of_only_bad_entries_stores_nothing_and_calls_no_store() -> None:
    store = FakeWatchLogStore()
    result = service.ingest(deps(store), "u1", [a_log(activity="flying")])
    assert (result.accepted, len(result.rejected), store.appended_batches) == (0, 1, 0)


@pytest.mark.parametrize("size", [0, 501])
def test_a_batch_must_hold_1_to_500_logs(size: int) -> None:
    with pytest.raises(InvalidInput, match="1 to 500"):
        service.ingest(deps(FakeWatchLogStore()), "u1", logs(1) * size)


def test_a_user_id_outside_the_id_charset_is_refused() -> None:
    with pytest.raises(InvalidInput, match="user_id"):
        service.ingest(deps(FakeWatchLogStore()), "u 1", logs(1))


def test_a_store_outage_is_reported_not_swallowed() -> None:
    store = FakeWatchLogStore()
    store.unavailable = True
    with pytest.raises(StoreUnavailable):
        service.ingest(deps(store), "u1", logs(1))


def test_a_filter_defaults_to_the_last_24_hours_and_refuses_an_empty_range() -> None:
    where = service.log_filter(deps(FakeWatchLogStore()), None, None, user_id="u1")
    assert (where.start, where.end, where.user_id) == (NOW - timedelta(hours=24), NOW, "u1")
    with pytest.raises(InvalidInput, match="before"):
        service.log_filter(deps(FakeWatchLogStore()), NOW, NOW)
    with pytest.raises(InvalidInput, match="device_id"):
        service.log_filter(deps(FakeWatchLogStore()), None, None, device_id="a b")


def test_page_size_is_bounded() -> None:
    with pytest.raises(InvalidInput, match="page_size"):
        service.list_logs(deps(FakeWatchLogStore()), _everything(), 1001, None)


def test_rollups_cover_every_page_of_the_scan() -> None:
    store = FakeWatchLogStore()
    service.ingest(deps(store), "u1", logs(30, steps=10))
    small = deps(store, scan_budget=4, aggregate_budget=1000)
    rollups = service.aggregate(small, _everything(), BucketWidth.DAY)
    assert sum(r.samples for r in rollups) == 30
    assert sum(r.steps for r in rollups) == 300


def test_rollups_past_their_budget_ask_for_a_narrower_range() -> None:
    store = FakeWatchLogStore()
    service.ingest(deps(store), "u1", logs(30))
    tight = deps(store, scan_budget=4, aggregate_budget=8)
    with pytest.raises(RangeTooLarge, match="narrow it"):
        service.aggregate(tight, _everything(), BucketWidth.HOUR)


def test_a_rollup_that_would_outlast_its_callers_deadline_asks_for_a_narrower_range() -> None:
    store = FakeWatchLogStore()
    service.ingest(deps(store), "u1", logs(30))
    hurried = dataclasses.replace(deps(store, scan_budget=4), time_left=lambda: 0.1)
    with pytest.raises(RangeTooLarge, match="in time"):
        service.aggregate(hurried, _everything(), BucketWidth.HOUR)


def test_summaries_end_at_most_31_days_after_they_start() -> None:
    store = FakeWatchLogStore()
    service.ingest(deps(store), "u1", logs(3, steps=7))
    store.consume()
    [day] = service.daily_summaries(deps(store), "u1", date(2026, 11, 1), date(2026, 12, 1))
    assert (day.day, day.samples, day.steps) == (date(2026, 12, 1), 3, 21)
    assert service.daily_summaries(deps(store), "u1", date(2026, 11, 1), date(2026, 12, 2))
    with pytest.raises(InvalidInput, match="31 days"):
        service.daily_summaries(deps(store), "u1", date(2026, 11, 1), date(2026, 12, 3))
    with pytest.raises(InvalidInput):
        service.daily_summaries(deps(store), "u1", date(2026, 12, 2), date(2026, 12, 1))


def _everything() -> LogFilter:
    return LogFilter(start=datetime(2000, 1, 1, tzinfo=UTC), end=NOW + timedelta(hours=1))
