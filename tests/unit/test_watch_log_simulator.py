"""The simulated fleet: daily patterns, values the service accepts, determinism, stable ids."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.timeutil import parse_time
from services.watch_logs import simulator
from services.watch_logs.domain import ACTIVITIES, WatchLog
from services.watch_logs.validation import Window, problem_of

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
WORKOUTS = set(simulator.WORKOUT_ACTIVITIES)


def day_of(seed: int, key: str, hours: float = 24, devices: int = 1) -> list[dict[str, Any]]:
    user = simulator.make_user(seed, key, devices)
    start, end = simulator.window(NOW, hours)
    return list(simulator.user_samples(seed, user, start, end))


def as_log(entry: dict[str, Any]) -> WatchLog:
    return WatchLog(**{**entry, "timestamp": parse_time(entry["timestamp"])})


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.text("abcdef0123456789-", min_size=1, max_size=36))
def test_every_sample_passes_the_services_own_validation(seed: int, key: str) -> None:
    window = Window(NOW, timedelta(hours=24), timedelta(minutes=5))
    entries = day_of(seed, key, hours=24, devices=2)
    assert len(entries) == 2 * 24 * 60
    problems = {problem_of(as_log(e), window) for e in entries}
    assert problems == {None}
    assert {e["activity"] for e in entries} <= ACTIVITIES


def test_nights_are_slept_through_without_steps_at_a_low_heart_rate() -> None:
    for key in ("alice", "bob", "carol"):
        night = [e for e in day_of(3, key) if e["activity"] == "sleep"]
        assert len(night) >= 7 * 60  # at least seven hours of the day
        assert {e["steps"] for e in night} == {0}
        assert {e["distance_m"] for e in night} == {0.0}
        assert all(45 <= e["heart_rate"] <= 60 for e in night)


def test_the_small_hours_are_asleep_in_the_users_own_time_zone() -> None:
    user = simulator.make_user(3, "alice")
    offset = timedelta(minutes=user.habits.utc_offset_minutes)
    three_am_local = datetime(2026, 12, 1, 3, 0, tzinfo=UTC) - offset
    assert simulator.activity_at(3, user, three_am_local) == "sleep"
    assert simulator.activity_at(3, user, three_am_local + timedelta(hours=12)) != "sleep"


def test_workouts_raise_the_heart_rate_to_130_to_170() -> None:
    entries = day_of(5, "runner", hours=24)
    workout = [e for e in entries if e["activity"] in WORKOUTS]
    assert len(workout) >= 25
    assert all(130 <= e["heart_rate"] <= 170 for e in workout)
    resting = [e["heart_rate"] for e in entries if e["activity"] == "rest" and e["heart_rate"]]
    assert max(resting) < min(e["heart_rate"] for e in workout)


def test_walks_take_steps_and_cover_distance_in_the_day() -> None:
    walks = [e for e in day_of(8, "walker") if e["activity"] == "walking"]
    assert len(walks) >= 30
    assert all(90 <= e["steps"] <= 120 for e in walks)
    assert all(0.6 * e["steps"] <= e["distance_m"] <= 0.8 * e["steps"] for e in walks)


def test_a_day_adds_up_to_a_plausible_step_count() -> None:
    steps = sum(e["steps"] for e in day_of(2, "average"))
    assert 3_000 <= steps <= 30_000


def test_the_battery_drains_about_one_percent_an_hour_and_charges_once_a_day() -> None:
    entries = day_of(4, "charger", hours=48)
    levels = [e["battery"] for e in entries]
    charging = [e for e in entries if e["heart_rate"] == 0]
    rises = sum(1 for a, b in itertools.pairwise(levels) if b > a)
    hourly = levels[::60]
    drops = [a - b for a, b in itertools.pairwise(hourly) if a >= b]
    assert 2 * 30 <= len(charging) <= 2 * simulator.CHARGE_MINUTES  # twice in two days
    assert all(e["steps"] == 0 for e in charging)
    assert rises <= 2 * simulator.CHARGE_MINUTES
    assert max(drops) <= 2  # 0.8-1.2 % an hour, rounded
    assert min(levels) >= 60


def test_the_same_seed_gives_the_same_fleet_and_another_seed_another() -> None:
    assert day_of(11, "alice", hours=2, devices=2) == day_of(11, "alice", hours=2, devices=2)
    assert day_of(11, "alice", hours=2) != day_of(12, "alice", hours=2)
    assert day_of(11, "alice", hours=2) != day_of(11, "bob", hours=2)


def test_message_ids_are_unique_and_a_later_run_repeats_the_same_entries() -> None:
    user = simulator.make_user(9, "alice", 3)
    first = list(simulator.user_samples(9, user, NOW - timedelta(hours=6), NOW))
    later = list(
        simulator.user_samples(9, user, NOW - timedelta(hours=3), NOW + timedelta(hours=3))
    )
    ids = [e["message_id"] for e in first]
    assert len(set(ids)) == len(ids) == 3 * 6 * 60
    overlap = {e["message_id"]: e for e in first}
    shared = [e for e in later if e["message_id"] in overlap]
    assert len(shared) == 3 * 3 * 60
    assert all(overlap[e["message_id"]] == e for e in shared)


def test_each_user_wears_distinct_watches_of_known_models() -> None:
    user = simulator.make_user(1, "alice", 4)
    models = {model for model, _ in simulator.DEVICE_MODELS}
    assert len({d.device_id for d in user.devices}) == 4
    assert all(d.model in models for d in user.devices)
    assert simulator.make_user(1, "bob", 1).devices[0] not in user.devices


def test_sample_times_align_to_the_interval_and_count_matches() -> None:
    start, end = NOW - timedelta(seconds=301), NOW + timedelta(seconds=1)
    times = list(simulator.sample_times(start, end, 60))
    assert [t.second for t in times] == [0] * 6
    assert len(times) == simulator.count_samples(start, end, 60) == 6


def test_batches_take_turns_over_the_users_and_stop_at_the_limit() -> None:
    streams = [iter(range(0, 5)), iter(range(100, 102)), iter(range(200, 207))]
    batches = list(simulator.batches(streams, 3, limit=12))
    assert batches == [
        (0, [0, 1, 2]),
        (1, [100, 101]),
        (2, [200, 201, 202]),
        (0, [3, 4]),
        (2, [203, 204]),  # the limit cuts the last batch short
    ]
