"""Writing and deleting points: idempotent upserts, per-point refusals, whole-batch refusals."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.health_metrics import service
from services.health_metrics.domain import InvalidInput, Metric, Point, PointRejection
from services.health_metrics.service import Limits
from tests.unit.health_metrics.fake_store import FakeHealthStore
from tests.unit.health_metrics.support import NOW, USER, at, deps, points


def test_a_batch_is_stored_and_sending_it_again_changes_nothing() -> None:
    store = FakeHealthStore()
    batch = points((at(0), 60.0), (at(1), 61.0))
    first = service.write_points(deps(store), USER, "heart_rate", batch)
    again = service.write_points(deps(store), USER, "heart_rate", batch)
    assert (first.accepted, first.unchanged, first.rejected) == (2, 0, ())
    assert (again.accepted, again.unchanged) == (0, 2)
    assert store.points[(USER, Metric.HEART_RATE)] == {at(0): 60.0, at(1): 61.0}


def test_a_point_sent_again_with_a_new_value_is_a_correction() -> None:
    store = FakeHealthStore()
    service.write_points(deps(store), USER, "steps", points((at(0), 10.0), (at(1), 11.0)))
    result = service.write_points(deps(store), USER, "steps", points((at(0), 12.0), (at(1), 11.0)))
    assert (result.accepted, result.unchanged) == (1, 1)
    assert store.points[(USER, Metric.STEPS)][at(0)] == 12.0


def test_times_in_another_offset_are_stored_in_utc() -> None:
    store = FakeHealthStore()
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2026, 5, 1, 14, 0, tzinfo=plus_two)
    service.write_points(deps(store), USER, "spo2", [Point(moment, 97.0)])
    (stored,) = store.points[(USER, Metric.SPO2)]
    assert stored == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (math.nan, "value must be a number from 20 to 250 bpm"),
        (math.inf, "value must be a number from 20 to 250 bpm"),
        (-math.inf, "value must be a number from 20 to 250 bpm"),
        (19.999, "value must be a number from 20 to 250 bpm"),
        (250.001, "value must be a number from 20 to 250 bpm"),
    ],
)
def test_a_value_that_is_not_finite_or_out_of_range_is_refused_alone(
    value: float, reason: str
) -> None:
    store = FakeHealthStore()
    batch = points((at(0), 60.0), (at(1), value), (at(2), 62.0))
    result = service.write_points(deps(store), USER, "heart_rate", batch)
    assert result.rejected == (PointRejection(1, reason),)
    assert result.accepted == 2
    assert sorted(store.points[(USER, Metric.HEART_RATE)]) == [at(0), at(2)]


def test_the_ends_of_a_metric_range_are_accepted() -> None:
    store = FakeHealthStore()
    batch = points((at(0), 0.0), (at(1), 3.0))
    result = service.write_points(deps(store), USER, "active_zone_minutes", batch)
    assert (result.accepted, result.rejected) == (2, ())


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        (datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "time is before 2000-01-01"),
        (NOW + timedelta(minutes=5, microseconds=1), "time is more than 300 s in the future"),
        (datetime(2026, 5, 1, 12, 0), "time needs a timezone"),
    ],
)
def test_a_time_outside_the_accepted_window_is_refused_alone(moment: datetime, reason: str) -> None:
    store = FakeHealthStore()
    result = service.write_points(
        deps(store), USER, "hrv", [Point(at(0), 50.0), Point(moment, 50.0)]
    )
    assert result.rejected == (PointRejection(1, reason),)
    assert result.accepted == 1


def test_the_first_instant_of_2000_and_the_skew_limit_are_accepted() -> None:
    store = FakeHealthStore()
    batch = points((datetime(2000, 1, 1, tzinfo=UTC), 50.0), (NOW + timedelta(minutes=5), 50.0))
    result = service.write_points(deps(store), USER, "hrv", batch)
    assert (result.accepted, result.rejected) == (2, ())


def test_a_batch_of_refused_points_only_reaches_no_store() -> None:
    store = FakeHealthStore(unavailable=True)  # a store call would raise
    result = service.write_points(deps(store), USER, "spo2", points((at(0), 101.0)))
    assert (result.accepted, result.unchanged) == (0, 0)
    assert [r.index for r in result.rejected] == [0]


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([], "a batch holds 1 to 3 points"),
        (points(*((at(i), 60.0) for i in range(4))), "a batch holds 1 to 3 points"),
        (
            points((at(0), 60.0), (at(1), 61.0), (at(0), 62.0)),
            "points[2] has the time of points[0]",
        ),
    ],
)
def test_an_empty_oversized_or_self_contradicting_batch_is_refused_whole(
    batch: list[Point], message: str
) -> None:
    store = FakeHealthStore()
    with pytest.raises(InvalidInput, match=re.escape(message)):
        service.write_points(deps(store, Limits(max_points=3)), USER, "heart_rate", batch)
    assert store.points == {}


def test_the_same_instant_in_two_offsets_is_a_duplicate() -> None:
    other = at(0).astimezone(timezone(timedelta(hours=-5)))
    with pytest.raises(InvalidInput, match="has the time of"):
        service.write_points(
            deps(FakeHealthStore()), USER, "heart_rate", points((at(0), 60.0), (other, 61.0))
        )


@pytest.mark.parametrize("metric", ["", "Heart_Rate", "heart-rate", "calories", "heart_rate "])
def test_an_unknown_metric_name_is_refused_with_the_choices(metric: str) -> None:
    with pytest.raises(InvalidInput, match="metric must be one of heart_rate, spo2, steps"):
        service.write_points(deps(FakeHealthStore()), USER, metric, points((at(0), 60.0)))


@pytest.mark.parametrize(
    ("user_id", "message"),
    [
        ("", "user_id must be 1-64 characters"),
        ("u" * 65, "user_id must be 1-64 characters"),
        ("a\ud800b", "user_id holds the character U+D800"),
        ("a\x00b", "user_id holds the character U+0000"),
        ("a\nb", "user_id holds the character U+000A"),
        ("a\x7fb", "user_id holds the character U+007F"),
        ("evil\u202e", "user_id holds the character U+202E"),
    ],
)
def test_a_user_id_that_is_empty_long_or_holds_unsafe_characters_is_refused(
    user_id: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        service.write_points(deps(FakeHealthStore()), user_id, "steps", points((at(0), 1.0)))


@pytest.mark.parametrize("user_id", ["u" * 64, "zoë", "4f0c2a9e-1b7d-4c55-9a3e-0d1f2b3c4d5e"])
def test_a_user_id_of_up_to_64_safe_characters_is_accepted(user_id: str) -> None:
    result = service.write_points(deps(FakeHealthStore()), user_id, "steps", points((at(0), 1.0)))
    assert result.accepted == 1


def test_a_delete_removes_the_points_of_its_range_only_and_marks_their_minutes() -> None:
    store = FakeHealthStore()
    service.write_points(deps(store), USER, "steps", points(*((at(i), 5.0) for i in range(5))))
    store.refresh(100)
    deleted = service.delete_points(deps(store), USER, "steps", at(1), at(3))
    assert deleted == 2
    assert sorted(store.points[(USER, Metric.STEPS)]) == [at(0), at(3), at(4)]
    assert store.dirty_minutes() == 2


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (at(1), at(1), "from must be before to"),
        (at(2), at(1), "from must be before to"),
        (at(0), at(days=400, minutes=1), "a range spans at most 400 days"),
        (datetime(2026, 5, 1), at(1), "from needs a timezone"),
        (at(0), datetime(9999, 6, 1, tzinfo=UTC), "to must be before 9999"),
    ],
)
def test_a_delete_over_an_empty_reversed_or_too_long_range_is_refused(
    start: datetime, end: datetime, message: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        service.delete_points(deps(FakeHealthStore()), USER, "steps", start, end)


def test_a_range_of_exactly_400_days_is_accepted() -> None:
    assert service.delete_points(deps(FakeHealthStore()), USER, "steps", at(0), at(days=400)) == 0


def test_a_batch_with_points_of_more_than_31_utc_days_is_refused_whole_and_31_are_stored() -> None:
    days = [NOW - timedelta(days=n) for n in range(32)]
    store = FakeHealthStore()
    with pytest.raises(InvalidInput, match="at most 31 distinct UTC days"):
        service.write_points(deps(store), USER, "heart_rate", points(*((d, 60.0) for d in days)))
    assert store.points == {}
    result = service.write_points(
        deps(store), USER, "heart_rate", points(*((d, 60.0) for d in days[:31]))
    )
    assert result.accepted == 31
