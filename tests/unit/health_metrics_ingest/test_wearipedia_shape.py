"""The simulator against the shape recorded from wearipedia 0.1.7's fitbit_charge_6
(tests/data/wearipedia, written by bench/wearipedia_record.py): the same sampling, field
and stage names, values inside the recorded ranges (widened where wearipedia draws from a
normal distribution and 30 recorded days do not reach its tails)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from statistics import fmean
from typing import Any

import pytest

from services.health_metrics.domain import Metric, Point, SleepStage
from services.health_metrics.simulator import (
    BREATHING_SUMMARIES,
    WEARIPEDIA_FIELDS,
    Night,
    night_of,
)
from tests.unit.health_metrics_ingest.days import DAYS, FIRST, day_of

RECORDED: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "data" / "wearipedia" / "fitbit_charge_6.json").read_text()
)
USERS = ("alice", "bob", "carol")
NIGHTS = [night_of(u, FIRST + timedelta(days=n), 0) for u in USERS for n in range(30)]


def widened(stats: dict[str, float], share: float = 0.5) -> tuple[float, float]:
    """The recorded min..max, widened by ``share`` of its width on each side."""
    width = stats["max"] - stats["min"]
    return stats["min"] - share * width, stats["max"] + share * width


def within(values: Sequence[float], bounds: tuple[float, float]) -> bool:
    """Whether every value lies in ``bounds`` (inclusive)."""
    return bool(values) and bounds[0] <= min(values) and max(values) <= bounds[1]


def seconds_apart(points: tuple[Point, ...]) -> float:
    """The sampling interval: the shortest distance between consecutive points."""
    return min((b.time - a.time).total_seconds() for a, b in pairwise(points))


def test_the_fixture_is_the_small_recording_of_the_real_package() -> None:
    path = Path(__file__).parents[2] / "data" / "wearipedia" / "fitbit_charge_6.json"
    assert path.stat().st_size < 16_000
    assert RECORDED["source"]["package"] == "wearipedia 0.1.7"
    assert RECORDED["source"]["device"] == "fitbit/fitbit_charge_6"


@pytest.mark.parametrize("metric", list(Metric))
def test_each_metric_stands_for_a_recorded_data_type_and_field(metric: Metric) -> None:
    data_type, field = WEARIPEDIA_FIELDS[metric]
    shape = RECORDED[data_type]
    assert field in shape["fields"] + shape.get("value_fields", [])


def test_heart_rate_is_sampled_each_second_inside_the_generators_clip() -> None:
    shape = RECORDED["intraday_heart_rate"]
    for day in DAYS:
        points = day_of("alice", day).points[Metric.HEART_RATE]
        assert [seconds_apart(points)] == shape["interval_seconds"] == [1.0]
        assert within([p.value for p in points], (shape["value"]["min"], shape["value"]["max"]))
        assert len(points) <= shape["points_per_day"][0]


def test_unlike_the_generator_the_heart_rate_rarely_sits_on_its_clip_limits() -> None:
    shape = RECORDED["intraday_heart_rate"]
    values = [p.value for p in day_of("bob").points[Metric.HEART_RATE]]
    limits = (shape["value"]["min"], shape["value"]["max"])
    assert shape["share_on_limits"] > 0.3
    assert sum(v in limits for v in values) / len(values) < 0.05


@pytest.mark.parametrize(
    ("metric", "data_type"), [(Metric.SPO2, "intraday_spo2"), (Metric.HRV, "intraday_hrv")]
)
def test_spo2_and_hrv_are_sampled_each_minute_of_a_night_inside_the_recorded_range(
    metric: Metric, data_type: str
) -> None:
    shape = RECORDED[data_type]
    stats = shape["value"] if metric is Metric.SPO2 else shape["rmssd"]
    for night in NIGHTS:
        points = night.spo2 if metric is Metric.SPO2 else night.hrv
        assert [seconds_apart(points)] == shape["interval_seconds"] == [60.0]
        # SpO2 is clipped to 95-100, rmssd uniform on 20-80: a recorded month nearly reaches both.
        assert within([p.value for p in points], widened(stats, 0.01))
        minutes = (night.session.end - night.session.start) / timedelta(minutes=1)
        assert 0.9 * minutes <= len(points) <= minutes
    # wearipedia measures 6-9 h from a time of its own; ours, through the 4-10 h session.
    counts = [len(n.spo2 if metric is Metric.SPO2 else n.hrv) for n in NIGHTS]
    assert within(counts, widened(shape["points_per_day"], 1.0))


def test_a_zone_minute_comes_each_minute_as_0_or_1() -> None:
    shape = RECORDED["intraday_active_zone_minute"]
    for day in DAYS:
        points = day_of("carol", day).points[Metric.ACTIVE_ZONE_MINUTES]
        assert [seconds_apart(points)] == shape["interval_seconds"]
        assert {p.value for p in points} == set(shape["values"])
        assert len(points) <= shape["points_per_day"][0]


def test_steps_of_a_day_add_up_to_totals_like_the_generators() -> None:
    shape = RECORDED["intraday_activity"]["daily_steps"]
    totals = [sum(p.value for p in day_of(u, d).points[Metric.STEPS]) for u in USERS for d in DAYS]
    assert within(totals, (0.0, widened(shape)[1]))
    assert abs(fmean(totals) - shape["mean"]) < 1.5 * shape["stdev"]


def night_rates(night: Night, stage: SleepStage) -> list[float]:
    """The night's breathing rates taken at the starts of ``stage`` spans."""
    starts = {s.start for s in night.session.stages if s.stage is stage}
    return [p.value for p in night.breathing if p.time in starts]


@pytest.mark.parametrize("stage", list(BREATHING_SUMMARIES))
def test_breathing_rates_per_stage_fall_in_that_stages_recorded_range(stage: SleepStage) -> None:
    summary = BREATHING_SUMMARIES[stage]
    assert summary in RECORDED["intraday_breath_rate"]["summaries"]
    rates = [r for night in NIGHTS for r in night_rates(night, stage)]
    assert within(rates, widened(RECORDED["intraday_breath_rate"][summary]))


def test_sleep_has_the_recorded_stage_names_start_hours_and_lengths() -> None:
    shape = RECORDED["sleep"]
    sessions = [n.session for n in NIGHTS]
    assert {s.value for s in SleepStage} == set(shape["stages"]) == set(shape["summary_stages"])
    assert {s.start.hour for s in sessions} <= set(shape["start_hours"])
    lengths = [(s.end - s.start).total_seconds() for s in sessions]
    assert within(lengths, widened(shape["duration_seconds"], 0.2))
    assert within([len(s.stages) for s in sessions], widened(shape["stages_per_session"], 1.0))
