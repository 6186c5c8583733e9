"""Which readings and ids the motion service takes (services/motion/validation.py)."""

from __future__ import annotations

import math

import pytest

from services.motion.domain import InvalidInput, Reading
from services.motion.validation import Window, check_count, check_id, problem_of

NOW_MS = 1_780_000_000_000
WINDOW = Window(NOW_MS, max_age_ms=24 * 3_600_000, max_skew_ms=300_000)


def reading(
    name: str = "accelerometer",
    ts: int = NOW_MS - 1000,
    values: tuple[float, ...] = (0.1, 9.8, 0.3),
) -> Reading:
    """A valid accelerometer reading a second ago, unless told otherwise."""
    return Reading(name, ts, values)


def test_a_plain_accelerometer_reading_is_taken() -> None:
    assert problem_of(reading(), WINDOW) is None


def test_other_sensors_may_hold_one_to_sixteen_values() -> None:
    assert problem_of(reading("gyroscope", values=(1.0,)), WINDOW) is None
    assert problem_of(reading("light", values=tuple(range(16))), WINDOW) is None
    assert "1 to 16" in str(problem_of(reading("light", values=tuple(range(17))), WINDOW))
    assert "1 to 16" in str(problem_of(reading("light", values=()), WINDOW))


@pytest.mark.parametrize("values", [(1.0, 2.0), (1.0, 2.0, 3.0, 4.0)])
def test_an_accelerometer_reading_is_exactly_x_y_z(values: tuple[float, ...]) -> None:
    assert "[x, y, z]" in str(problem_of(reading(values=values), WINDOW))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e6 + 1, -1e7, 1e300])
def test_values_must_be_finite_and_within_a_million(bad: float) -> None:
    problem = problem_of(reading(values=(0.0, bad, 0.0)), WINDOW)
    assert problem is not None
    assert problem.startswith("values[1]")


def test_a_value_of_exactly_a_million_is_taken() -> None:
    assert problem_of(reading(values=(1e6, -1e6, 0.0)), WINDOW) is None


@pytest.mark.parametrize("name", ["", "Accelerometer", "a b", "x" * 33, "acc\x00", "é"])
def test_a_sensor_name_is_1_to_32_of_a_small_charset(name: str) -> None:
    assert "name must be" in str(problem_of(reading(name), WINDOW))


def test_the_window_refuses_old_and_future_readings_at_its_edges() -> None:
    oldest = NOW_MS - 24 * 3_600_000
    latest = NOW_MS + 300_000
    assert problem_of(reading(ts=oldest), WINDOW) is None
    assert problem_of(reading(ts=latest), WINDOW) is None
    assert "older than the 24 h" in str(problem_of(reading(ts=oldest - 1), WINDOW))
    assert "300 s in the future" in str(problem_of(reading(ts=latest + 1), WINDOW))
    assert "older" in str(problem_of(reading(ts=0), WINDOW))
    assert "future" in str(problem_of(reading(ts=2**63 - 1), WINDOW))


@pytest.mark.parametrize("value", ["", "a b", "x" * 65, "d\x00", "d/1", "dé", "\ud800"])
def test_ids_outside_the_charset_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput, match="device_id must be 1-64"):
        check_id("device_id", value)


def test_ids_may_hold_dots_colons_dashes_and_underscores() -> None:
    assert check_id("message_id", "a.b:c-d_e") == "a.b:c-d_e"


@pytest.mark.parametrize("count", [0, 1001])
def test_a_message_holds_1_to_1000_readings(count: int) -> None:
    with pytest.raises(InvalidInput, match="1 to 1000"):
        check_count([reading()] * count)
    check_count([reading()] * 1000)
