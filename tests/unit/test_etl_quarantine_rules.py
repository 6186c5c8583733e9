"""What the warehouse cannot hold, decided without a database."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from etl.domain import DayTotals, UserRecord, WorkoutRecord
from etl.quarantine import (
    Screen,
    int4_problem,
    number_problem,
    printable,
    text_problem,
    user_problem,
    workout_problem,
)
from etl.transform import compare_totals

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def user(**changes: Any) -> UserRecord:
    """A loadable user, changed as asked."""
    return UserRecord("u1", "ann", "Ann", 60.0, 170.0, 1990, NOW, NOW)._replace(**changes)


def workout(**changes: Any) -> WorkoutRecord:
    """A loadable workout, changed as asked."""
    record = WorkoutRecord("w1", "u1", "running", NOW, NOW, 1800.0, 250.0, NOW)
    return record._replace(**changes)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("fine", None),
        ("a\x00b", "name contains a NUL character"),
        ("\ud800", "name is not valid Unicode (a lone surrogate)"),
        ("x" * 9, "name is longer than 8 characters"),
        (42, "name is not text"),
    ],
)
def test_text_is_refused_only_for_what_postgresql_cannot_store(
    value: object, problem: str | None
) -> None:
    assert text_problem("name", value, 8) == problem


def test_numbers_must_be_finite_and_integers_fit_in_int4() -> None:
    assert number_problem("w", math.nan) == "w is not finite"
    assert number_problem("w", math.inf) == "w is not finite"
    assert number_problem("w", None) == "w is not a number"
    assert number_problem("w", None, optional=True) is None
    assert number_problem("w", True) == "w is not a number"
    assert int4_problem("y", 2**31 - 1) is None
    assert int4_problem("y", 2**31) == "y is outside the integer range"
    assert int4_problem("y", -(2**31) - 1) == "y is outside the integer range"


def test_a_user_and_a_workout_name_their_first_bad_field() -> None:
    assert user_problem(user()) is None
    assert user_problem(user(display_name="\x00", birth_year=2**40)) == (
        "display_name contains a NUL character"
    )
    assert workout_problem(workout(workout_type=" Swimming ")) is None
    assert workout_problem(workout(calories_burned=math.nan)) == "calories_burned is not finite"


def test_printable_escapes_nul_and_lone_surrogates_and_cuts_long_text() -> None:
    assert printable("a\x00\ud800b") == "a\\x00\\ud800b"
    assert printable("x" * 50, limit=10) == "x" * 10
    assert "\x00" not in printable(("u1", "A\x00"))


def test_a_screen_passes_good_rows_sets_bad_ones_aside_and_releases_fixed_ones() -> None:
    rows = [user(user_id="u1"), user(user_id="u2", username="\x00"), user(user_id="u3")]
    screen = Screen("users", user_problem, rows, held=frozenset({"u3", "u9"}))

    passed = [row.user_id for row in screen.rows()]

    assert passed == ["u1", "u3"]
    assert [(q.record_key, q.reason) for q in screen.set_aside] == [
        ("u2", "username contains a NUL character")
    ]
    assert screen.released == ["u3"]


def test_a_quarantined_workout_keeps_its_start_and_sums_for_reconciliation() -> None:
    screen = Screen("workouts", workout_problem, [workout(user_id="\x00")])

    assert list(screen.rows()) == []
    assert screen.set_aside[0].totals == (NOW, 1800.0, 250.0, NOW)


def test_reconciliation_treats_nan_sums_on_both_sides_as_agreement() -> None:
    day = NOW.date()
    nan = DayTotals(1, math.nan, 1.0)

    assert compare_totals("t", {day: nan}, {day: nan}) == []
    assert compare_totals("t", {day: nan}, {day: DayTotals(1, 0.0, 1.0)}) != []


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-45 10:00:00", "", 17])
def test_a_workout_whose_time_cannot_be_read_is_set_aside_without_a_day(bad: object) -> None:
    screen = Screen("workouts", workout_problem, [workout(start_time=bad)])

    assert list(screen.rows()) == []
    assert screen.set_aside[0].reason == "start_time is not a time"
    assert screen.set_aside[0].totals is None


def test_utc_text_as_sqlite_keeps_it_is_a_time() -> None:
    assert workout_problem(workout(start_time="2026-03-02 10:00:00.123456")) is None
