"""Linear gap filling and page cutting, pure: real points untouched, imputed ones in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.health_metrics.domain import Resolution, SeriesPoint
from services.health_metrics.fill import MAX_FILL_GAP, between, cut_page, filled

STEP = timedelta(minutes=1)
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def real(index: int, value: float) -> SeriesPoint:
    """A real bucket ``index`` steps after T0."""
    return SeriesPoint(T0 + index * STEP, value, value - 1, value + 1, 3, imputed=False)


def test_a_short_gap_is_filled_on_the_line_between_its_neighbours() -> None:
    found = between(real(0, 60.0), real(3, 90.0), STEP, 60)
    assert [(p.time, p.value) for p in found] == [(T0 + STEP, 70.0), (T0 + 2 * STEP, 80.0)]
    assert all(p.imputed and p.count == 0 and p.low == p.value == p.high for p in found)


def test_a_gap_of_the_longest_fillable_length_is_filled_and_a_longer_one_is_not() -> None:
    assert len(between(real(0, 1.0), real(61, 2.0), STEP, 60)) == 60
    assert between(real(0, 1.0), real(62, 2.0), STEP, 60) == []


def test_neighbouring_buckets_have_nothing_between_them() -> None:
    assert between(real(0, 1.0), real(1, 2.0), STEP, 60) == []


def test_the_fillable_gaps_are_an_hour_of_minutes_six_hours_and_two_days() -> None:
    assert MAX_FILL_GAP == {Resolution.MINUTE: 60, Resolution.HOUR: 6, Resolution.DAY: 2}


def test_a_left_neighbour_fills_the_gap_before_the_first_point_but_is_not_shown() -> None:
    found = list(filled(real(0, 10.0), [real(2, 20.0)], STEP, 60))
    assert [(p.time, p.value, p.imputed) for p in found] == [
        (T0 + STEP, 15.0, True),
        (T0 + 2 * STEP, 20.0, False),
    ]


series_strategy = st.dictionaries(
    st.integers(0, 400), st.floats(0, 1000, allow_nan=False), min_size=0, max_size=40
)


@given(series_strategy, st.integers(0, 70))
def test_filling_never_changes_or_removes_real_points_and_keeps_imputed_ones_between_neighbours(
    values: dict[int, float], max_gap: int
) -> None:
    reals = [real(i, values[i]) for i in sorted(values)]
    out = list(filled(None, reals, STEP, max_gap))
    assert [p for p in out if not p.imputed] == reals
    assert [p.time for p in out] == sorted({p.time for p in out})
    for a, b in pairwise(reals):
        inside = [p for p in out if a.time < p.time < b.time]
        missing = (b.time - a.time) // STEP - 1
        expected = missing if missing <= max_gap else 0
        assert [p.time for p in inside] == [a.time + k * STEP for k in range(1, expected + 1)]
        low, high = min(a.value, b.value), max(a.value, b.value)
        assert all(p.imputed and low <= p.value <= high for p in inside)
    if reals:
        assert not out[0].imputed
        assert not out[-1].imputed


@given(series_strategy)
def test_imputed_values_follow_the_line_between_their_neighbours(values: dict[int, float]) -> None:
    reals = [real(i, values[i]) for i in sorted(values)]
    for a, b in pairwise(reals):
        span = (b.time - a.time) / STEP
        for p in between(a, b, STEP, 1000):
            share = ((p.time - a.time) / STEP) / span
            assert p.value == pytest.approx(a.value + (b.value - a.value) * share, abs=1e-9)


def imputed(index: int) -> SeriesPoint:
    """An imputed point ``index`` steps after T0."""
    return SeriesPoint(T0 + index * STEP, 1.0, 1.0, 1.0, 0, imputed=True)


def test_a_page_takes_its_real_points_and_the_imputed_ones_up_to_the_next_real_one() -> None:
    series = [real(0, 1.0), imputed(1), real(2, 1.0), imputed(3), imputed(4), real(5, 1.0)]
    assert cut_page(series, None, 2, 100) == (series[:5], True)


def test_a_page_with_nothing_after_it_is_the_last() -> None:
    series = [real(0, 1.0), imputed(1), real(2, 1.0)]
    assert cut_page(series, None, 2, 100) == (series, False)


def test_a_page_skips_what_lies_at_or_before_its_cursor() -> None:
    series = [real(0, 1.0), imputed(1), imputed(2), real(3, 1.0)]
    assert cut_page(series, T0 + STEP, 5, 100) == (series[2:], False)


def test_a_page_stops_at_its_point_limit_even_inside_a_gap() -> None:
    series = [real(0, 1.0), imputed(1), imputed(2), real(3, 1.0)]
    assert cut_page(series, None, 5, 2) == (series[:2], True)


def test_a_page_holds_one_point_whatever_the_limits() -> None:
    series = [real(0, 1.0), real(1, 1.0)]
    assert cut_page(series, None, 0, 0) == (series[:1], True)
