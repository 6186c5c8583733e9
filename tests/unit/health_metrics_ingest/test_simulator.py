"""The simulated Charge 6 day: values the service accepts, its sampling, its gaps, valid
sleep, and the same day again for the same (seed, user, day)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from statistics import fmean

from services.health_metrics import validation
from services.health_metrics.domain import SPECS, Metric, Point, Resolution, SleepStage
from services.health_metrics.fill import MAX_FILL_GAP
from services.health_metrics.simulator import ZONE_BPM, midnight, night_of, simulate_day
from tests.unit.health_metrics_ingest.days import DAYS, FIRST, day_of

NOW = datetime(2026, 12, 1, tzinfo=UTC)
WINDOW = validation.Window(NOW, timedelta(minutes=5))
USERS = ("alice", "bob", "carol")
SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)
FILL_LIMIT = MAX_FILL_GAP[Resolution.MINUTE] * MINUTE


def intervals(points: tuple[Point, ...]) -> set[timedelta]:
    """The distinct intervals between consecutive points."""
    return {b.time - a.time for a, b in pairwise(points)}


def gaps(points: tuple[Point, ...], step: timedelta) -> list[timedelta]:
    """Every interval longer than the sampling step."""
    return [b.time - a.time for a, b in pairwise(points) if b.time - a.time > step]


def test_every_point_passes_the_services_own_validation_inside_its_utc_day_in_order() -> None:
    start = midnight(FIRST)
    for user in USERS:
        for metric, points in day_of(user).points.items():
            assert points, f"{metric} has points"
            assert validation.rejections(metric, points, WINDOW) == []
            validation.check_batch(points, len(points))  # no two at the same instant
            assert start <= points[0].time
            assert points[-1].time < start + timedelta(days=1)
            assert all(a.time < b.time for a, b in pairwise(points))


def test_values_stay_inside_the_domain_ranges_for_several_users_and_days() -> None:
    for user in USERS:
        for day in DAYS:
            for metric, points in day_of(user, day).points.items():
                spec = SPECS[metric]
                assert all(spec.low <= p.value <= spec.high for p in points), metric


def test_every_metric_of_the_contract_is_simulated() -> None:
    assert set(day_of("alice").points) == set(Metric)


def test_heart_rate_comes_each_second_steps_and_zone_minutes_at_each_minute_start() -> None:
    points = day_of("alice").points
    assert min(intervals(points[Metric.HEART_RATE])) == SECOND
    assert {p.time.microsecond for p in points[Metric.HEART_RATE]} == {0}
    assert 70_000 < len(points[Metric.HEART_RATE]) < 86_400  # a day of seconds, less gaps
    for metric in (Metric.STEPS, Metric.ACTIVE_ZONE_MINUTES):
        assert min(intervals(points[metric])) == MINUTE
        assert {(p.time.second, p.time.microsecond) for p in points[metric]} == {(0, 0)}


def test_spo2_and_hrv_come_a_minute_apart_from_the_second_the_night_began() -> None:
    simulated = day_of("bob")
    session = simulated.sleep[0]
    for metric in (Metric.SPO2, Metric.HRV):
        morning = [p for p in simulated.points[metric] if p.time < session.end]
        assert morning
        assert session.start <= morning[0].time
        assert min(intervals(tuple(morning))) == MINUTE
        assert {(p.time - session.start) % MINUTE for p in morning} == {timedelta(0)}


def test_breathing_rates_start_with_the_deep_light_and_rem_spans_of_the_night() -> None:
    simulated = day_of("carol")
    session = simulated.sleep[0]
    asleep = {s.start for s in session.stages if s.stage is not SleepStage.WAKE}
    morning = {p.time for p in simulated.points[Metric.BREATHING_RATE] if p.time < session.end}
    assert morning == {t for t in asleep if t >= midnight(FIRST)}


def test_heart_rate_has_short_dropouts_gaps_gap_filling_bridges_and_longer_charges() -> None:
    per_day = [gaps(day_of(u, d).points[Metric.HEART_RATE], SECOND) for u in USERS for d in DAYS]
    every = [g for day in per_day for g in day]
    assert all(per_day), "every day has dropouts"
    assert any(g < MINUTE for g in every)
    assert any(3 * MINUTE < g < FILL_LIMIT for g in every)
    assert any(g > FILL_LIMIT for g in every)


def test_steps_pause_only_while_the_device_charges_and_spo2_misses_single_minutes() -> None:
    charges = [gaps(day_of(u, d).points[Metric.STEPS], MINUTE) for u in USERS for d in DAYS]
    assert sum(bool(c) for c in charges) >= len(charges) // 2
    assert all(len(c) <= 1 and all(g >= 20 * MINUTE for g in c) for c in charges)
    assert gaps(day_of("alice").points[Metric.SPO2], MINUTE)


def test_a_zone_minute_is_a_minute_whose_measured_heart_rate_averages_above_87() -> None:
    points = day_of("alice").points
    by_minute: dict[datetime, list[float]] = defaultdict(list)
    for p in points[Metric.HEART_RATE]:
        by_minute[p.time.replace(second=0)].append(p.value)
    zones = {p.time: p.value for p in points[Metric.ACTIVE_ZONE_MINUTES]}
    assert zones.keys() == by_minute.keys()
    assert all(zones[m] == float(fmean(v) > ZONE_BPM) for m, v in by_minute.items())
    assert 0 < sum(zones.values()) < len(zones)


def test_asleep_there_are_no_steps_and_the_heart_rate_is_lower_than_awake() -> None:
    simulated = day_of("bob")
    session = simulated.sleep[0]
    points = simulated.points

    def asleep(p: Point) -> bool:
        return session.start <= p.time < session.end

    assert {p.value for p in points[Metric.STEPS] if asleep(p)} == {0.0}
    night = fmean(p.value for p in points[Metric.HEART_RATE] if asleep(p))
    day = fmean(p.value for p in points[Metric.HEART_RATE] if not asleep(p))
    assert night + 5 < day


def test_the_session_is_the_night_ending_that_day_begun_21_to_24_h_lasting_4_to_10_h() -> None:
    for user in USERS:
        for day in (FIRST + n * timedelta(days=1) for n in range(30)):
            session = night_of(user, day, 0).session
            assert session.night == day
            assert midnight(day) - timedelta(hours=3) <= session.start < midnight(day)
            assert timedelta(hours=4) <= session.end - session.start <= timedelta(hours=10)
            assert validation.session_problem(session, WINDOW) is None
        for day in DAYS:
            assert day_of(user, day).sleep == (night_of(user, day, 0).session,)


def test_stages_follow_each_other_without_gaps_from_falling_asleep_to_waking_up() -> None:
    for user in USERS:
        (session,) = day_of(user).sleep
        stages = session.stages
        assert stages[0].start == session.start
        assert stages[-1].end == session.end
        assert all(a.end == b.start and a.stage != b.stage for a, b in pairwise(stages))
        assert stages[0].stage is stages[-1].stage is SleepStage.WAKE
        assert {s.stage for s in stages} == set(SleepStage)
        assert len(stages) <= validation.MAX_STAGES


def test_a_night_split_by_midnight_is_whole_across_the_two_days() -> None:
    night = night_of("alice", DAYS[1], 0)
    evening, morning = day_of("alice", DAYS[0]).points, day_of("alice", DAYS[1]).points
    for metric, whole in ((Metric.SPO2, night.spo2), (Metric.HRV, night.hrv)):
        late = [p for p in evening[metric] if p.time >= night.session.start]
        early = [p for p in morning[metric] if p.time < night.session.end]
        assert (*late, *early) == whole


def test_the_same_seed_user_and_day_give_the_same_day_and_any_other_a_different_one() -> None:
    again = simulate_day("alice", FIRST, 0)
    assert again == day_of("alice")
    others = (simulate_day("alice", FIRST, 1), day_of("bob"), day_of("alice", DAYS[1]))
    for other in others:
        assert other.points[Metric.HEART_RATE] != again.points[Metric.HEART_RATE]
        assert other.sleep != again.sleep
