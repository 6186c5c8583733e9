"""Paging through a series: every point exactly once, in order, whatever the page sizes,
with gaps filled or not, and while points keep arriving between page reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.health_metrics import service
from services.health_metrics.domain import (
    BUCKET,
    Metric,
    Point,
    Resolution,
    SeriesPage,
    SeriesPoint,
)
from services.health_metrics.service import HealthDeps, Limits
from tests.unit.health_metrics.fake_store import FakeHealthStore
from tests.unit.health_metrics.support import USER, deps

START = datetime(2025, 1, 1, tzinfo=UTC)
SLOTS = 400  # a series' points lie on the first SLOTS half-buckets after START
READS = [
    ("raw", "none"),
    ("1m", "none"),
    ("1m", "linear"),
    ("1h", "none"),
    ("1h", "linear"),
    ("1d", "linear"),
]


def half_step(resolution: str) -> timedelta:
    """Half a bucket (a minute for raw reads): two points may share a bucket, gaps vary."""
    return BUCKET.get(Resolution(resolution), timedelta(minutes=2)) / 2


def end_of(resolution: str) -> datetime:
    """The end of the range the slots lie in."""
    return START + (SLOTS + 2) * half_step(resolution)


def write(store: FakeHealthStore, resolution: str, slots: dict[int, float]) -> None:
    """Write a point at each slot, then refresh the rollups."""
    step = half_step(resolution)
    batch = [Point(START + slot * step, value) for slot, value in sorted(slots.items())]
    if batch:
        service.write_points(deps(store), USER, "heart_rate", batch)
    store.refresh(1_000_000)


def page(d: HealthDeps, resolution: str, fill: str, size: int, token: str) -> SeriesPage:
    """One page of the read of the whole range."""
    end = end_of(resolution)
    return service.read_series(d, USER, "heart_rate", START, end, resolution, fill, size, token)


def everything(d: HealthDeps, resolution: str, fill: str) -> list[SeriesPoint]:
    """The whole read as one page."""
    found = page(d, resolution, fill, 10_000, "")
    assert found.next_page_token == ""
    return list(found.points)


slots_strategy = st.dictionaries(
    st.integers(0, SLOTS), st.floats(20, 250, allow_nan=False), max_size=60
)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(READS),
    slots_strategy,
    st.integers(1, 40),
    st.lists(st.integers(1, 12), min_size=1, max_size=8),
)
def test_pages_of_any_sizes_join_to_the_whole_series_exactly_once_in_order(
    read: tuple[str, str], slots: dict[int, float], most: int, sizes: list[int]
) -> None:
    resolution, fill = read
    store = FakeHealthStore()
    write(store, resolution, slots)
    whole = everything(deps(store), resolution, fill)
    d = deps(store, Limits(max_page_points=most))
    joined: list[SeriesPoint] = []
    token = ""
    for turn in range(10_000):
        found = page(d, resolution, fill, sizes[turn % len(sizes)], token)
        token = found.next_page_token
        assert found.points or not token, "a page before the last is never empty"
        joined.extend(found.points)
        if not token:
            break
    assert joined == whole
    assert [p.time for p in joined] == sorted({p.time for p in joined})


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(READS),
    slots_strategy,
    st.lists(st.tuples(st.integers(1, 6), slots_strategy), min_size=1, max_size=6),
)
def test_points_arriving_between_page_reads_neither_repeat_nor_hide_the_ones_there_before(
    read: tuple[str, str], slots: dict[int, float], turns: list[tuple[int, dict[int, float]]]
) -> None:
    resolution, fill = read
    store = FakeHealthStore()
    write(store, resolution, slots)
    before = {real.time for real in everything(deps(store), resolution, fill) if not real.imputed}
    joined: list[SeriesPoint] = []
    token = ""
    for turn in range(10_000):
        size, arriving = turns[turn % len(turns)]
        found = page(deps(store), resolution, fill, size, token)
        real_now = {p.time for p in everything(deps(store), resolution, fill) if not p.imputed}
        assert not {p.time for p in found.points if p.imputed} & real_now
        joined.extend(found.points)
        token = found.next_page_token
        if not token:
            break
        # New points only (a correction is no arrival): times no point had so far.
        write(store, resolution, {s: v for s, v in arriving.items() if s not in slots})
        slots = {**arriving, **slots}
    times = [p.time for p in joined]
    assert times == sorted(set(times))
    assert before <= {p.time for p in joined if not p.imputed}


def test_a_late_point_in_a_gap_already_read_is_not_shown_twice() -> None:
    store = FakeHealthStore()
    write(store, "1m", {0: 60.0, 8: 100.0, 10: 110.0})  # minutes 0, 4 and 5
    first = page(deps(store), "1m", "linear", 1, "")
    assert [(p.time.minute, p.imputed) for p in first.points] == [
        (0, False),
        (1, True),
        (2, True),
        (3, True),
    ]
    write(store, "1m", {4: 70.0})  # minute 2, imputed on the page already read
    rest = page(deps(store), "1m", "linear", 10, first.next_page_token)
    assert [(p.time.minute, p.imputed) for p in rest.points] == [(4, False), (5, False)]
    assert store.points[(USER, Metric.HEART_RATE)][START + timedelta(minutes=2)] == 70.0
