"""Series reads: raw points, rollups at each resolution (means or sums), and filled gaps."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.health_metrics import service
from services.health_metrics.domain import (
    InvalidInput,
    InvalidPageToken,
    Metric,
    Resolution,
    SeriesPoint,
)
from services.health_metrics.service import Limits
from tests.unit.health_metrics.fake_store import FakeHealthStore
from tests.unit.health_metrics.support import (
    USER,
    all_pages,
    at,
    deps,
    joined,
    points,
    stored,
)


def read(
    store: FakeHealthStore,
    metric: str,
    resolution: str,
    fill: str = "none",
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[SeriesPoint]:
    """Every point of a read of one day from DAY (one page of at most 10,000 real points)."""
    first = start or at(0)
    page = service.read_series(
        deps(store), USER, metric, first, end or at(days=3), resolution, fill, 10_000, ""
    )
    assert page.next_page_token == ""
    return list(page.points)


def test_a_raw_read_shows_each_stored_point_as_its_own_min_and_max() -> None:
    store = FakeHealthStore()
    stored(store, "heart_rate", [(at(0, 0), 60.0), (at(0.5), 70.0)])
    assert read(store, "heart_rate", "raw") == [
        SeriesPoint(at(0), 60.0, 60.0, 60.0, 1, False),
        SeriesPoint(at(0.5), 70.0, 70.0, 70.0, 1, False),
    ]


def test_a_raw_read_sees_a_write_before_any_refresh() -> None:
    store = FakeHealthStore()
    service.write_points(deps(store), USER, "spo2", points((at(0), 97.0)))
    assert [p.value for p in read(store, "spo2", "raw")] == [97.0]
    assert read(store, "spo2", "1m") == []


HEART = [(at(0), 60.0), (at(0.5), 70.0), (at(1), 90.0), (at(hours=1), 100.0), (at(days=1), 50.0)]


@pytest.mark.parametrize(
    ("resolution", "expected"),
    [
        (
            "1m",
            [
                SeriesPoint(at(0), 65.0, 60.0, 70.0, 2, False),
                SeriesPoint(at(1), 90.0, 90.0, 90.0, 1, False),
                SeriesPoint(at(hours=1), 100.0, 100.0, 100.0, 1, False),
                SeriesPoint(at(days=1), 50.0, 50.0, 50.0, 1, False),
            ],
        ),
        (
            "1h",
            [
                SeriesPoint(at(0), 220 / 3, 60.0, 90.0, 3, False),
                SeriesPoint(at(hours=1), 100.0, 100.0, 100.0, 1, False),
                SeriesPoint(at(days=1), 50.0, 50.0, 50.0, 1, False),
            ],
        ),
        (
            "1d",
            [
                SeriesPoint(at(0), 80.0, 60.0, 100.0, 4, False),
                SeriesPoint(at(days=1), 50.0, 50.0, 50.0, 1, False),
            ],
        ),
    ],
)
def test_a_non_additive_metric_reads_as_the_mean_of_its_points_per_bucket(
    resolution: str, expected: list[SeriesPoint]
) -> None:
    store = FakeHealthStore()
    stored(store, "heart_rate", HEART)
    assert read(store, "heart_rate", resolution) == expected


@pytest.mark.parametrize(
    ("resolution", "values"),
    [("1m", [30.0, 5.0, 7.0, 1.0]), ("1h", [35.0, 7.0, 1.0]), ("1d", [42.0, 1.0])],
)
def test_steps_read_as_the_sum_of_their_points_per_bucket(
    resolution: str, values: list[float]
) -> None:
    store = FakeHealthStore()
    steps = [(at(0), 10.0), (at(0.5), 20.0), (at(1), 5.0), (at(hours=1), 7.0), (at(days=1), 1.0)]
    stored(store, "steps", steps)
    assert [p.value for p in read(store, "steps", resolution)] == values


def test_a_read_shows_buckets_of_its_range_only() -> None:
    store = FakeHealthStore()
    stored(store, "heart_rate", HEART)
    found = read(store, "heart_rate", "1m", start=at(1), end=at(hours=1))
    assert [p.time for p in found] == [at(1)]


def test_a_correction_shows_in_the_rollups_after_the_next_refresh() -> None:
    store = FakeHealthStore()
    stored(store, "heart_rate", [(at(0), 60.0), (at(0.5), 70.0)])
    service.write_points(deps(store), USER, "heart_rate", points((at(0.5), 80.0)))
    assert read(store, "heart_rate", "1h")[0].value == 65.0
    service.refresh_rollups(deps(store), 10)
    assert read(store, "heart_rate", "1h")[0].value == 70.0


def filled_minutes(gap_minutes: int) -> list[SeriesPoint]:
    """A 1m read with fill of two real minutes ``gap_minutes`` apart."""
    store = FakeHealthStore()
    stored(store, "heart_rate", [(at(0), 60.0), (at(gap_minutes), 120.0)])
    return read(store, "heart_rate", "1m", "linear")


def test_a_gap_is_filled_with_imputed_points_on_the_line_and_flagged() -> None:
    found = filled_minutes(4)
    assert [(p.value, p.imputed, p.count) for p in found] == [
        (60.0, False, 1),
        (75.0, True, 0),
        (90.0, True, 0),
        (105.0, True, 0),
        (120.0, False, 1),
    ]
    assert [p.time for p in found] == [at(i) for i in range(5)]


@pytest.mark.parametrize(
    ("resolution", "step", "longest"),
    [
        ("1m", timedelta(minutes=1), 60),
        ("1h", timedelta(hours=1), 6),
        ("1d", timedelta(days=1), 2),
    ],
)
def test_gaps_up_to_the_documented_length_are_filled_and_longer_ones_are_not(
    resolution: str, step: timedelta, longest: int
) -> None:
    store = FakeHealthStore()
    first = at(0)
    second = first + (longest + 1) * step
    third = second + (longest + 2) * step
    stored(store, "spo2", [(first, 90.0), (second, 96.0), (third, 99.0)])
    found = read(store, "spo2", resolution, "linear", end=third + step)
    imputed = [p.time for p in found if p.imputed]
    assert imputed == [first + k * step for k in range(1, longest + 1)]


def test_no_point_is_imputed_before_the_first_or_after_the_last_real_one() -> None:
    store = FakeHealthStore()
    stored(store, "heart_rate", [(at(5), 60.0), (at(7), 70.0)])
    found = read(store, "heart_rate", "1m", "linear", start=at(0), end=at(20))
    assert [(p.time, p.imputed) for p in found] == [
        (at(5), False),
        (at(6), True),
        (at(7), False),
    ]


def test_steps_are_filled_between_the_sums_of_their_buckets() -> None:
    store = FakeHealthStore()
    stored(store, "steps", [(at(0), 10.0), (at(0.5), 10.0), (at(2), 40.0)])
    found = read(store, "steps", "1m", "linear")
    assert [(p.value, p.imputed) for p in found] == [(20.0, False), (30.0, True), (40.0, False)]


def test_imputed_points_are_never_stored() -> None:
    store = FakeHealthStore()
    stored(store, "heart_rate", [(at(0), 60.0), (at(3), 90.0)])
    read(store, "heart_rate", "1m", "linear")
    assert store.points[(USER, Metric.HEART_RATE)] == {at(0): 60.0, at(3): 90.0}
    assert sorted(store.rollups[(USER, Metric.HEART_RATE, Resolution.MINUTE)]) == [at(0), at(3)]


def test_a_page_ending_in_a_gap_carries_the_imputed_points_up_to_the_next_real_one() -> None:
    store = FakeHealthStore()
    stored(store, "heart_rate", [(at(0), 60.0), (at(3), 90.0), (at(5), 70.0)])
    pages = all_pages(deps(store), "heart_rate", at(0), at(10), "1m", "linear", 1)
    assert [[(p.time, p.imputed) for p in page.points] for page in pages] == [
        [(at(0), False), (at(1), True), (at(2), True)],
        [(at(3), False), (at(4), True)],
        [(at(5), False)],
    ]


def test_a_page_cut_inside_a_long_gap_continues_it_on_the_next_page() -> None:
    store = FakeHealthStore()
    stored(store, "heart_rate", [(at(0), 60.0), (at(10), 110.0)])
    d = deps(store, Limits(max_page_points=4))
    pages = all_pages(d, "heart_rate", at(0), at(20), "1m", "linear", 1000)
    assert [len(page.points) for page in pages] == [4, 4, 3]
    assert [p.value for p in joined(pages)] == [60.0 + 5 * i for i in range(11)]


@pytest.mark.parametrize(
    ("resolution", "fill", "page_size", "message"),
    [
        ("5m", "none", 10, "resolution must be one of raw, 1m, 1h, 1d"),
        ("1m", "spline", 10, "fill must be one of none, linear"),
        ("raw", "linear", 10, "fill=linear needs a resolution of 1m, 1h or 1d"),
        ("1m", "none", -1, "page_size must be from 1 to 10000"),
        ("1m", "none", 10_001, "page_size must be from 1 to 10000"),
    ],
)
def test_a_read_with_a_bad_resolution_fill_or_page_size_is_refused(
    resolution: str, fill: str, page_size: int, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        service.read_series(
            deps(FakeHealthStore()), USER, "hrv", at(0), at(1), resolution, fill, page_size, ""
        )


def test_a_page_size_of_zero_means_a_thousand_points() -> None:
    store = FakeHealthStore()
    service.write_points(deps(store), USER, "hrv", points(*((at(i), 50.0) for i in range(1001))))
    page = service.read_series(deps(store), USER, "hrv", at(0), at(days=1), "raw", "none", 0, "")
    assert len(page.points) == 1000
    assert page.next_page_token


def test_a_token_of_another_users_read_is_refused() -> None:
    store = FakeHealthStore()
    stored(store, "hrv", [(at(0), 50.0), (at(1), 51.0)])
    page = service.read_series(deps(store), USER, "hrv", at(0), at(5), "1m", "none", 1, "")
    with pytest.raises(InvalidPageToken):
        service.read_series(
            deps(store), "user-2", "hrv", at(0), at(5), "1m", "none", 1, page.next_page_token
        )


def test_a_page_names_the_metric_and_resolution_it_read() -> None:
    page = service.read_series(
        deps(FakeHealthStore()), USER, "steps", at(0), at(1), "1h", "linear", 5, ""
    )
    assert (page.metric, page.resolution, page.points, page.next_page_token) == (
        Metric.STEPS,
        Resolution.HOUR,
        (),
        "",
    )


def test_a_gap_is_never_continued_from_a_bucket_before_the_range() -> None:
    store = FakeHealthStore()
    stored(store, "heart_rate", [(at(0), 60.0), (at(5), 60.0), (at(10), 110.0)])
    d = deps(store, Limits(max_page_points=3))
    first = service.read_series(d, USER, "heart_rate", at(3), at(20), "1m", "linear", 10, "")
    assert [p.time for p in first.points] == [at(5), at(6), at(7)]
    service.delete_points(d, USER, "heart_rate", at(5), at(6))  # the page's only real point
    service.refresh_rollups(d, 10)
    rest = service.read_series(
        d, USER, "heart_rate", at(3), at(20), "1m", "linear", 10, first.next_page_token
    )
    assert [(p.time, p.imputed) for p in rest.points] == [(at(10), False)]
