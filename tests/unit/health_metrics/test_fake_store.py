"""The in-memory store keeps the HealthStore's promises: dirty minutes, refreshes that equal
a full recompute, the simulator's bookkeeping; and the use cases that reach them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.health_metrics import service
from services.health_metrics.domain import (
    InvalidInput,
    Metric,
    Point,
    Resolution,
    Rollup,
    StoreUnavailable,
)
from services.health_metrics.repository import RefreshReport
from tests.unit.health_metrics.fake_store import FakeHealthStore, day_of, hour_of, minute_of
from tests.unit.health_metrics.support import NOW, USER, at, deps, points

FLOORS = {Resolution.MINUTE: minute_of, Resolution.HOUR: hour_of, Resolution.DAY: day_of}


def recomputed(
    store: FakeHealthStore,
) -> dict[tuple[str, Metric, Resolution], dict[datetime, Rollup]]:
    """Every rollup computed afresh from the raw points."""
    found: dict[tuple[str, Metric, Resolution], dict[datetime, Rollup]] = {}
    for (user_id, metric), stored in store.points.items():
        for resolution, floor in FLOORS.items():
            buckets: dict[datetime, list[float]] = defaultdict(list)
            for moment, value in stored.items():
                buckets[floor(moment)].append(value)
            found[(user_id, metric, resolution)] = {
                start: Rollup(start, min(vs), max(vs), sum(vs), len(vs))
                for start, vs in buckets.items()
            }
    return found


def assert_equal_rollups(store: FakeHealthStore) -> None:
    """The refreshed rollups are those of a full recompute (sums to a relative 1e-9)."""
    expected = recomputed(store)
    keys = set(expected) | set(store.rollups)
    for key in keys:
        have, want = store.rollups.get(key, {}), expected.get(key, {})
        assert sorted(have) == sorted(want), key
        for start, rollup in want.items():
            got = have[start]
            assert (got.low, got.high, got.count) == (rollup.low, rollup.high, rollup.count)
            assert got.total == pytest.approx(rollup.total, rel=1e-9)


# An operation: write (slot, value) points, or delete the slots [first, first + length).
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("write"),
            st.dictionaries(st.integers(0, 3000), st.floats(20, 250, allow_nan=False), min_size=1),
        ),
        st.tuples(st.just("delete"), st.tuples(st.integers(0, 3000), st.integers(1, 500))),
        st.tuples(st.just("refresh"), st.integers(1, 20)),
    ),
    max_size=25,
)


def slot_time(slot: int) -> datetime:
    """Slots are 50 s apart over two days: minutes, hours and a day boundary all get hit."""
    return at(0) + timedelta(seconds=50 * slot) + timedelta(hours=20)


@settings(max_examples=80, deadline=None)
@given(operations, st.sampled_from(list(Metric)))
def test_rollups_equal_a_full_recompute_after_any_writes_corrections_deletes_and_refreshes(
    ops: list[tuple[str, object]], metric: Metric
) -> None:
    store = FakeHealthStore(clock=lambda: NOW)
    for kind, argument in ops:
        if kind == "write":
            assert isinstance(argument, dict)
            batch = [Point(slot_time(s), v) for s, v in argument.items()]
            store.write_points(USER, metric, batch)
        elif kind == "delete":
            assert isinstance(argument, tuple)
            first, length = argument
            store.delete_points(USER, metric, slot_time(first), slot_time(first + length))
        else:
            assert isinstance(argument, int)
            store.refresh(argument)
    while store.refresh(7).remaining:
        pass
    assert store.dirty_minutes() == 0
    assert_equal_rollups(store)


def test_an_unchanged_point_marks_nothing_and_a_changed_one_marks_its_minute_once() -> None:
    store = FakeHealthStore(clock=lambda: NOW)
    store.write_points(USER, Metric.HRV, points((at(0), 50.0), (at(0.5), 51.0)))
    assert store.dirty_minutes() == 1
    store.refresh(10)
    store.write_points(USER, Metric.HRV, points((at(0), 50.0)))
    assert store.dirty_minutes() == 0
    store.write_points(USER, Metric.HRV, points((at(0), 52.0)))
    assert store.dirty_minutes() == 1


def test_a_refresh_takes_the_longest_waiting_minutes_first_and_reports_what_is_left() -> None:
    times = iter([NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)])
    clock_now = [NOW]

    def clock() -> datetime:
        clock_now[0] = next(times, clock_now[0])
        return clock_now[0]

    store = FakeHealthStore(clock=clock)
    store.write_points(USER, Metric.SPO2, points((at(5), 97.0)))
    store.write_points(USER, Metric.SPO2, points((at(1), 96.0)))
    assert store.oldest_dirty_seconds() == 2.0
    assert store.refresh(1) == RefreshReport(minutes=1, hours=1, days=1, remaining=1)
    assert list(store.rollups[(USER, Metric.SPO2, Resolution.MINUTE)]) == [at(5)]
    assert store.refresh(1).remaining == 0
    assert store.oldest_dirty_seconds() == 0.0


def test_a_minute_whose_points_are_all_deleted_has_no_rollup_after_a_refresh() -> None:
    store = FakeHealthStore()
    store.write_points(USER, Metric.STEPS, points((at(0), 5.0), (at(hours=2), 6.0)))
    store.refresh(10)
    store.delete_points(USER, Metric.STEPS, at(0), at(1))
    store.refresh(10)
    assert list(store.rollups[(USER, Metric.STEPS, Resolution.MINUTE)]) == [at(hours=2)]
    assert list(store.rollups[(USER, Metric.STEPS, Resolution.HOUR)]) == [at(hours=2)]
    assert store.rollups[(USER, Metric.STEPS, Resolution.DAY)][at(0)].total == 6.0


def test_refresh_rollups_refreshes_and_refuses_a_batch_of_no_minutes() -> None:
    store = FakeHealthStore()
    service.write_points(deps(store), USER, "steps", points((at(0), 5.0), (at(1), 6.0)))
    assert service.refresh_rollups(deps(store), 5) == RefreshReport(2, 1, 1, 0)
    with pytest.raises(InvalidInput, match="max_minutes must be at least 1"):
        service.refresh_rollups(deps(store), 0)


def test_linking_a_simulator_twice_links_it_once_and_tells_the_last_day_ingested() -> None:
    store = FakeHealthStore()
    assert service.link_simulator(deps(store), USER) == (True, None)
    store.mark_ingested(USER, date(2024, 1, 3))
    assert service.link_simulator(deps(store), USER) == (False, date(2024, 1, 3))
    assert store.simulated_users() == [USER]
    with pytest.raises(InvalidInput, match="user_id"):
        service.link_simulator(deps(store), "")


def test_deleting_a_user_forgets_everything_of_theirs_only() -> None:
    store = FakeHealthStore()
    for user_id in (USER, "user-2"):
        store.write_points(user_id, Metric.STEPS, points((at(0), 5.0)))
        store.link_simulator(user_id)
        store.mark_ingested(user_id, date(2024, 1, 1))
    store.refresh(1)
    store.write_points(USER, Metric.STEPS, points((at(1), 5.0)))
    store.delete_user(USER)
    assert {key[0] for key in (*store.points, *store.rollups, *store.dirty)} == {"user-2"}
    assert (store.simulated_users(), store.ingested_through(USER)) == (["user-2"], None)


def test_an_unavailable_store_fails_every_use_case_as_an_outage() -> None:
    store = FakeHealthStore(unavailable=True)
    with pytest.raises(StoreUnavailable):
        service.read_series(deps(store), USER, "steps", at(0), at(1), "1m", "none", 1, "")
