"""The watch-log service's pure rules: what a log may hold, rollups, injected faults."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.watch_logs.domain import BucketWidth, StoredLog, WatchLog
from services.watch_logs.faults import FaultInjector, FaultPlan
from services.watch_logs.rollups import bucket_start, roll_up
from services.watch_logs.validation import Window, problem_of

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOW = Window(NOW, timedelta(hours=24), timedelta(minutes=5))
SERVICE = "fitness.watch_logs.v1.WatchLogService"


def a_log(**changes: Any) -> WatchLog:
    """A valid walking sample taken ten minutes before NOW, with ``changes``."""
    log = WatchLog(
        message_id="m-1",
        device_id="watch-1",
        device_model="Forerunner 265",
        firmware="20.26",
        timestamp=NOW - timedelta(minutes=10),
        activity="walking",
        duration_s=60,
        steps=100,
        heart_rate=95,
        calories=4.5,
        distance_m=75.0,
        floors=0,
        battery=80,
    )
    return dataclasses.replace(log, **changes)


def stored(user: str, at: datetime, **changes: Any) -> StoredLog:
    """The log as the store would return it."""
    return StoredLog(user, a_log(timestamp=at, **changes), "1-0", at)


def test_a_well_formed_log_has_no_problem() -> None:
    assert problem_of(a_log(), WINDOW) is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"message_id": ""}, "message_id must be 1-64"),
        ({"message_id": "a" * 65}, "message_id must be 1-64"),
        ({"device_id": "watch 1"}, "device_id must be 1-64"),
        ({"device_model": "x" * 65}, "device_model is longer than 64"),
        ({"firmware": "1.0\x00"}, "firmware holds the control character U+0000"),
        ({"device_model": "\ud800"}, "device_model holds the control character U+D800"),
        ({"activity": "flying"}, "activity must be one of"),
        ({"duration_s": 0}, "duration_s must be between 1 and 3600"),
        ({"steps": 100_001}, "steps must be between 0 and 100000"),
        ({"calories": float("nan")}, "calories must be between"),
        ({"distance_m": -1.0}, "distance_m must be between"),
        ({"battery": 101}, "battery must be between 0 and 100"),
        ({"heart_rate": 12}, "heart_rate must be 0 (not measured) or between 25 and 250"),
        ({"timestamp": NOW - timedelta(hours=25)}, "older than the 24 h"),
        ({"timestamp": NOW + timedelta(minutes=6)}, "in the future"),
    ],
)
def test_a_log_out_of_its_ranges_is_refused_with_the_reason(
    changes: dict[str, Any], problem: str
) -> None:
    reason = problem_of(a_log(**changes), WINDOW)
    assert reason is not None
    assert problem in reason


def test_an_unmeasured_heart_rate_is_zero_and_allowed() -> None:
    assert problem_of(a_log(heart_rate=0), WINDOW) is None


def test_rollups_sum_per_user_and_hour_and_skip_unmeasured_heart_rates() -> None:
    hour = NOW.replace(minute=0)
    logs = [
        stored("u1", hour + timedelta(minutes=1), steps=10, heart_rate=100),
        stored("u1", hour + timedelta(minutes=2), steps=20, heart_rate=0),
        stored("u1", hour + timedelta(minutes=70), steps=5, heart_rate=120),
        stored("u2", hour + timedelta(minutes=3), steps=7, activity="sleep"),
    ]
    first, second, other = roll_up(logs, BucketWidth.HOUR)
    assert (first.user_id, first.start, first.samples, first.steps) == ("u1", hour, 2, 30)
    assert (first.mean_heart_rate, first.max_heart_rate) == (100.0, 100)
    assert first.active_minutes == 2.0
    assert (second.start, second.steps) == (hour + timedelta(hours=1), 5)
    assert (other.user_id, other.active_minutes) == ("u2", 0.0)


def test_battery_drain_counts_drops_between_a_watchs_samples_but_not_charging() -> None:
    day = NOW.replace(hour=0, minute=0)
    levels = [90, 85, 100, 97]  # drained 5, charged, drained 3
    logs = [
        stored("u1", day + timedelta(hours=i), battery=level)
        for i, level in reversed(list(enumerate(levels)))  # order of arrival does not matter
    ]
    [rollup] = roll_up(logs, BucketWidth.DAY)
    assert rollup.battery_drain == 8


def test_two_watches_drain_separately() -> None:
    day = NOW.replace(hour=0, minute=0)
    logs = [
        stored("u1", day, battery=50, device_id="a"),
        stored("u1", day + timedelta(minutes=1), battery=90, device_id="b"),
        stored("u1", day + timedelta(minutes=2), battery=48, device_id="a"),
    ]
    [rollup] = roll_up(logs, BucketWidth.DAY)
    assert rollup.battery_drain == 2


def test_buckets_start_at_the_utc_hour_or_day() -> None:
    moment = datetime(2026, 12, 1, 13, 45, 12, tzinfo=UTC)
    assert bucket_start(moment, BucketWidth.HOUR) == datetime(2026, 12, 1, 13, tzinfo=UTC)
    assert bucket_start(moment, BucketWidth.DAY) == datetime(2026, 12, 1, tzinfo=UTC)


def test_a_fault_plan_covers_only_its_services_named_methods() -> None:
    plan = FaultPlan(SERVICE, error_rate=0.5, methods=frozenset({"IngestLogs"}))
    assert plan.covers(f"/{SERVICE}/IngestLogs")
    assert not plan.covers(f"/{SERVICE}/ListLogs")
    assert not plan.covers("/grpc.health.v1.Health/Check")
    assert FaultPlan(SERVICE, error_rate=0.1).covers(f"/{SERVICE}/ListLogs")


def test_no_fault_plan_is_active_by_default() -> None:
    assert not FaultPlan(SERVICE).active
    assert not FaultPlan(SERVICE, delay_rate=1.0).active  # a delay of 0 ms is none
    assert FaultPlan(SERVICE, delay_rate=1.0, delay_mean_seconds=0.01).active


def test_injected_errors_and_delays_come_at_about_their_rates() -> None:
    plan = FaultPlan(SERVICE, error_rate=0.2, delay_rate=0.5, delay_mean_seconds=0.1)
    injector = FaultInjector(plan, random.Random(7), lambda method, kind: None)
    draws = 10_000
    failures = sum(injector.fails() for _ in range(draws))
    delays = [injector.delay() for _ in range(draws)]
    assert 0.18 < failures / draws < 0.22
    delayed = [d for d in delays if d > 0]
    assert 0.47 < len(delayed) / draws < 0.53
    assert 0.09 < sum(delayed) / len(delayed) < 0.11  # exponential around the mean
