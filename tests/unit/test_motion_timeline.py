"""Segments and distributions from processed records (services/motion/timeline.py)."""

from __future__ import annotations

from dataclasses import replace

from services.motion.domain import Activity, Segment, TimeRange
from services.motion.timeline import distribution, segments
from tests.unit.motion_fakes import a_record

WALK, RUN, STILL = Activity.WALKING, Activity.RUNNING, Activity.STATIONARY
ALL = TimeRange(0, 10**9)


def test_consecutive_windows_of_one_activity_make_one_segment() -> None:
    records = [a_record(n * 2500, WALK, confidence=0.6 + 0.1 * n) for n in range(3)]
    (only,) = segments(records, ALL)
    assert (only.activity, only.start_ms, only.end_ms) == (WALK, 0, 7500)
    assert abs(only.confidence - 0.7) < 1e-9


def test_a_change_of_activity_starts_a_new_segment() -> None:
    records = [a_record(0, WALK), a_record(2500, RUN), a_record(5000, RUN), a_record(7500, WALK)]
    found = [(s.activity, s.start_ms, s.end_ms) for s in segments(records, ALL)]
    assert found == [(WALK, 0, 2500), (RUN, 2500, 7500), (WALK, 7500, 10_000)]


def test_a_gap_splits_one_activity_in_two_segments() -> None:
    found = segments([a_record(0), a_record(10_000)], ALL)
    assert [(s.start_ms, s.end_ms) for s in found] == [(0, 2500), (10_000, 12_500)]


def test_overlapping_stretches_of_one_activity_merge_and_count_once() -> None:
    wide = replace(a_record(0), owned_end_ms=4000)
    found = segments([wide, a_record(2500)], ALL)
    assert [(s.start_ms, s.end_ms) for s in found] == [(0, 5000)]
    assert distribution(found)[WALK] == 5.0


def test_another_activity_overlapping_begins_where_the_segment_ends() -> None:
    other_session = replace(a_record(1000, RUN, session_id="s2"), owned_end_ms=6000)
    found = segments([a_record(0), other_session], ALL)
    assert [(s.activity, s.start_ms, s.end_ms) for s in found] == [
        (WALK, 0, 2500),
        (RUN, 2500, 6000),
    ]


def test_a_stretch_already_covered_adds_nothing() -> None:
    inside = replace(a_record(500, RUN), owned_end_ms=2000)
    found = segments([a_record(0), inside], ALL)
    assert [(s.activity, s.start_ms, s.end_ms) for s in found] == [(WALK, 0, 2500)]


def test_segments_are_clipped_to_the_range() -> None:
    records = [a_record(n * 2500) for n in range(4)]
    found = segments(records, TimeRange(1000, 6000))
    assert [(s.start_ms, s.end_ms) for s in found] == [(1000, 6000)]
    assert segments(records, TimeRange(20_000, 30_000)) == []


def test_records_out_of_order_are_merged_in_time_order() -> None:
    records = [a_record(5000), a_record(0), a_record(2500)]
    assert [(s.start_ms, s.end_ms) for s in segments(records, ALL)] == [(0, 7500)]


def test_the_distribution_names_every_activity_and_sums_seconds() -> None:
    found = [
        Segment(WALK, 0, 2500, 0.9),
        Segment(STILL, 2500, 10_000, 0.8),
        Segment(WALK, 10_000, 11_000, 1),
    ]
    assert distribution(found) == {
        Activity.UNKNOWN: 0.0,
        Activity.STATIONARY: 7.5,
        Activity.WALKING: 3.5,
        Activity.RUNNING: 0.0,
    }
    assert list(distribution([])) == list(Activity)
