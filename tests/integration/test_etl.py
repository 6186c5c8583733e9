"""The nightly ETL against real stores: SQLite sources, a PostgreSQL warehouse."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from etl.domain import ReconciliationFailed, RunInProgress, RunStatus, Window
from etl.pipeline import run_etl
from tests.integration.etl_world import (
    LOOKBACK,
    DroppingActivitySource,
    EtlWorld,
    FailingActivitySource,
    at,
    new_warehouse,
    snapshot,
)

D1, D2, D3, D4 = (date(2026, 3, day) for day in (2, 3, 4, 5))


@pytest.fixture
def world(sqlite_url: str, tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> EtlWorld:
    """Empty stores and an empty, migrated warehouse."""
    activity = tmp_path_factory.mktemp("activity") / "activity.db"
    return EtlWorld(sqlite_url, f"sqlite:///{activity}", postgres_url)


@pytest.fixture
def three_days(world: EtlWorld) -> dict[str, str]:
    """Two users with goals and five workouts over D1..D3."""
    ann = world.register("ann", 60.0, at(D1, 8))
    bob = world.register("bob", 80.0, at(D1, 9))
    world.goal(ann, 10, at(D1, 8, 30))
    world.workout(ann, at(D1, 10), kcal=200.0)
    world.workout(bob, at(D1, 11), minutes=45, kcal=400.0, kind="cycling")
    world.workout(ann, at(D2, 7), kcal=210.5)
    world.workout(bob, at(D3, 12), minutes=60, kcal=600.0, kind="Swimming ")
    world.workout(ann, at(D3, 18), kcal=190.0)
    return {"ann": ann, "bob": bob}


def test_a_first_nightly_run_loads_everything_up_to_last_midnight(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    report = world.nightly(at(D4, 2))

    assert report is not None
    assert report.status is RunStatus.SUCCEEDED
    assert (report.interval.start, report.interval.end) == (at(D1, 0), at(D4, 0))
    assert report.counts.read == {"users": 2, "goals": 1, "workouts": 5}
    assert world.scalar("SELECT count(*) FROM fact_workout") == 5
    assert world.scalar("SELECT sum(calories) FROM fact_workout") == pytest.approx(1600.5)
    assert world.rows("SELECT DISTINCT workout_type FROM fact_workout ORDER BY 1") == [
        ("cycling",),
        ("running",),
        ("swimming",),
    ]
    assert world.scalar("SELECT count(*) FROM dim_user WHERE is_current") == 2
    assert world.scalar("SELECT count(*) FROM fact_goal") == 1
    per_day = world.rows(
        "SELECT date_key, sum(workouts)::int FROM agg_daily_activity GROUP BY 1 ORDER BY 1"
    )
    assert per_day == [(20260302, 2), (20260303, 1), (20260304, 2)]
    assert set(world.watermarks().values()) == {at(D4, 0)}
    manifest = world.rows("SELECT status, rows_read, rows_written, committed_to FROM etl_runs")
    assert manifest == [("succeeded", report.counts.read, report.counts.written, at(D4, 0))]


def test_facts_point_at_their_user_and_every_day_is_in_the_date_dimension(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    world.nightly(at(D4, 2))

    assert world.scalar("SELECT count(*) FROM fact_workout WHERE user_key IS NULL") == 0
    orphans = world.scalar(
        "SELECT count(*) FROM fact_workout f LEFT JOIN dim_date d USING (date_key)"
        " WHERE d.date IS NULL"
    )
    assert orphans == 0
    assert world.rows("SELECT day_of_week, is_weekend FROM dim_date WHERE date = %s", D3) == [
        (3, False)
    ]


def test_the_next_night_reads_only_what_changed_since_the_watermark(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    world.nightly(at(D4, 2))
    world.workout(three_days["bob"], at(D4, 9), kcal=333.0)
    world.workout(three_days["bob"], at(D4, 19), kcal=111.0)

    report = world.nightly(at(D4 + timedelta(days=1), 2))

    assert report is not None
    assert report.interval.start == at(D4, 0)
    # The lookback re-reads ann's 18:00 workout of D3; it is unchanged, so not written.
    assert report.counts.read["workouts"] == 3
    assert report.counts.written["workouts"] == 2
    assert world.scalar("SELECT count(*) FROM fact_workout") == 7


def test_nothing_is_due_when_the_warehouse_is_up_to_last_midnight(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    world.nightly(at(D4, 2))

    assert world.nightly(at(D4, 23)) is None


def test_re_running_a_night_changes_nothing(world: EtlWorld, three_days: dict[str, str]) -> None:
    world.nightly(at(D4, 2))
    before = world.snapshot()

    again = world.load(D1, D3)

    assert again.counts.read["workouts"] == 5
    assert again.counts.rows_written == 0
    assert world.snapshot() == before


def test_a_late_row_inside_the_lookback_is_loaded_by_the_next_night(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    world.nightly(at(D4, 2))
    # Its change time is before the watermark, as when a slow transaction commits late.
    late = world.workout(three_days["ann"], at(D3, 21), recorded=at(D3, 22))

    world.nightly(at(D4 + timedelta(days=1), 2))

    assert world.scalar("SELECT count(*) FROM fact_workout WHERE session_id = %s", late) == 1


def test_a_late_row_older_than_the_lookback_waits_for_a_backfill_of_its_day(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    world.nightly(at(D4, 2))
    late = world.workout(three_days["bob"], at(D1, 5), recorded=at(D1, 6))
    assert at(D1, 6) < at(D4, 0) - LOOKBACK

    world.nightly(at(D4 + timedelta(days=1), 2))
    missed = world.scalar("SELECT count(*) FROM fact_workout WHERE session_id = %s", late)
    world.load(D1)
    found = world.scalar("SELECT count(*) FROM fact_workout WHERE session_id = %s", late)

    assert (missed, found) == (0, 1)


def test_a_weight_change_opens_a_new_user_version_and_later_facts_point_at_it(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    ann = three_days["ann"]
    world.nightly(at(D4, 2))
    world.change_weight(ann, 58.5, at(D4, 12))
    after = world.workout(ann, at(D4, 15))

    world.nightly(at(D4 + timedelta(days=1), 2))
    again = world.load(D4)

    versions = world.rows(
        "SELECT weight_kg, valid_from, valid_to, is_current FROM dim_user"
        " WHERE user_id = %s ORDER BY valid_from",
        ann,
    )
    assert [(v[0], v[3]) for v in versions] == [(60.0, False), (58.5, True)]
    assert versions[0][2] == versions[1][1] == at(D4, 12)
    keys = dict(
        world.rows(
            "SELECT f.session_id, d.weight_kg FROM fact_workout f"
            " JOIN dim_user d USING (user_key) WHERE f.user_id = %s",
            ann,
        )
    )
    assert keys[after] == 58.5
    assert sorted(keys.values()).count(60.0) == 3
    assert again.counts.rows_written == 0


def test_a_run_that_fails_mid_extract_writes_nothing_of_that_batch(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    broken = FailingActivitySource(world.deps.activity, after_rows=1)

    with pytest.raises(ConnectionError):
        world.load(D1, activity=broken)

    assert world.scalar("SELECT count(*) FROM fact_workout") == 0
    assert world.scalar("SELECT count(*) FROM dim_user") == 0
    assert world.watermarks() == {}
    assert world.rows("SELECT status, error FROM etl_runs") == [
        ("failed", "activity store went away mid-extract")
    ]


def crash_after_d1(window: Window) -> None:
    """Die right after the batch of D1 committed."""
    if window.until == at(D2, 0):
        raise SystemExit("killed")


def test_a_crashed_nightly_run_goes_on_from_its_watermark_and_ends_like_a_clean_load(
    world: EtlWorld, three_days: dict[str, str], postgres_server: str
) -> None:
    with pytest.raises(SystemExit):
        world.nightly(at(D4, 2), after_batch=crash_after_d1)
    assert world.scalar("SELECT count(*) FROM fact_workout") == 2
    assert set(world.watermarks().values()) == {at(D2, 0)}

    resumed = world.nightly(at(D4, 2))

    assert resumed is not None
    assert resumed.interval.start == at(D2, 0)
    assert resumed.counts.read["workouts"] == 3  # D2 and D3 only: D1 was committed
    assert world.rows("SELECT status FROM etl_runs ORDER BY started_at") == [
        ("failed",),
        ("succeeded",),
    ]
    clean = new_warehouse(postgres_server)
    run_etl(replace(world.deps, warehouse=clean), world.interval(D1, D3))
    assert _without_surrogates(world.snapshot()) == _without_surrogates(snapshot(clean))


def test_a_crashed_backfill_resumes_after_its_last_committed_day(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    with pytest.raises(SystemExit):
        world.load(D1, D3, after_batch=crash_after_d1)

    resumed = world.load(D1, D3)

    assert resumed.counts.read["workouts"] == 3
    assert world.scalar("SELECT count(*) FROM fact_workout") == 5
    statuses = world.rows("SELECT status, committed_to FROM etl_runs ORDER BY started_at")
    assert statuses == [("failed", at(D2, 0)), ("succeeded", at(D4, 0))]


def test_a_backfill_of_a_later_day_does_not_claim_the_days_before_it(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    # Began on D1, recorded on D3: the backfill of D3 loads it before D1 is loaded.
    world.workout(three_days["bob"], at(D1, 20), recorded=at(D3, 9))
    world.load(D3)
    assert world.watermarks() == {}

    first_night = world.nightly(at(D4, 2))

    assert first_night is not None
    assert first_night.interval.start == at(D1, 0)
    assert world.scalar("SELECT count(*) FROM fact_workout") == 6


def test_a_run_left_running_by_a_dead_process_is_marked_crashed_and_resumed(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    def die(window: Window) -> None:
        if window.until == at(D2, 0):
            raise KeyboardInterrupt  # stands in for SIGKILL, with the manifest fixed below

    deps = replace(world.deps, after_batch=die)
    interval = world.interval(D1, D3)
    with pytest.raises(KeyboardInterrupt):
        run_etl(deps, interval)
    world.rows("UPDATE etl_runs SET status = 'running' RETURNING 1")  # as SIGKILL leaves it

    resumed = world.load(D1, D3)

    statuses = world.rows("SELECT status FROM etl_runs ORDER BY started_at")
    assert statuses == [("crashed",), ("succeeded",)]
    assert resumed.counts.read["workouts"] == 3


def test_reconciliation_catches_a_row_the_extract_lost(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    lost = world.workout(three_days["ann"], at(D1, 20))
    buggy = DroppingActivitySource(world.deps.activity, drop=lost)

    with pytest.raises(ReconciliationFailed, match="2026-03-02 fact_workout"):
        world.load(D1, activity=buggy)

    assert world.scalar("SELECT count(*) FROM fact_workout") == 0
    assert world.watermarks() == {}
    status, error = world.rows("SELECT status, error FROM etl_runs")[0]
    assert status == "failed"
    assert "reconciliation failed" in error


def test_reconciliation_catches_a_warehouse_that_drifted_from_the_source(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    world.nightly(at(D4, 2))
    world.rows("DELETE FROM fact_workout WHERE date_key = 20260302 RETURNING 1")
    world.workout(three_days["bob"], at(D1, 23), recorded=at(D4, 3))

    with pytest.raises(ReconciliationFailed) as failure:
        world.nightly(at(D4 + timedelta(days=1), 2))

    (mismatch,) = [m for m in failure.value.mismatches if m.table == "fact_workout"]
    assert (mismatch.day, mismatch.expected.workouts, mismatch.found.workouts) == (D1, 3, 1)


def test_goals_load_their_state_and_deletions_and_skip_uncommitted_creations(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    from services.user.domain import GoalOperation, GoalStatus

    ann = three_days["ann"]
    achieved = world.goal(
        ann, 1, at(D2, 9), status=GoalStatus.ACHIEVED, current_progress=1.0, achieved_at=at(D2, 10)
    )
    doomed = world.goal(ann, 5, at(D2, 11))
    world.goal(ann, 7, at(D2, 12), pending_operation=GoalOperation.CREATE, pending_saga_id="s")
    world.nightly(at(D3, 2))
    world.delete_goal(doomed, at(D3, 9))

    world.nightly(at(D4, 2))

    goals = dict(world.rows("SELECT goal_id, deleted_at FROM fact_goal"))
    assert len(goals) == 3  # the pending creation is not a goal yet
    assert goals[doomed.goal_id] == at(D3, 9)
    assert world.rows(
        "SELECT status, achieved_date_key FROM fact_goal WHERE goal_id = %s", achieved.goal_id
    ) == [("achieved", 20260303)]


def test_the_reporting_views_answer_the_common_questions(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    world.nightly(at(D4, 2))

    weekly = world.rows(
        "SELECT username, workouts, calories FROM report_calories_per_user_week ORDER BY 1"
    )
    assert weekly == [("ann", 3, pytest.approx(600.5)), ("bob", 2, pytest.approx(1000.0))]
    active = world.rows("SELECT date, active_users FROM report_active_users_per_day ORDER BY 1")
    assert active == [(D1, 2), (D2, 1), (D3, 2)]
    mix = world.rows("SELECT workout_type, workouts, share_pct FROM report_workout_type_mix")
    assert sorted(mix) == [
        ("cycling", 1, pytest.approx(20.0)),
        ("running", 3, pytest.approx(60.0)),
        ("swimming", 1, pytest.approx(20.0)),
    ]
    rate = world.rows(
        "SELECT goal_type, goals, achieved, completion_rate FROM report_goal_completion_rate"
    )
    # Its target date (D1 + 30 days) has passed by the time this test runs: missed.
    assert rate == [("workouts_count", 1, 0, 0)]


def test_only_one_run_loads_a_warehouse_at_a_time(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    with world.warehouse.exclusive(), pytest.raises(RunInProgress):
        world.load(D1)


def _without_surrogates(snapshot: dict[str, list[tuple[object, ...]]]) -> dict[str, object]:
    """Tables compared without dim_user's generated keys (user_key)."""
    users = sorted(row[1:] for row in snapshot["dim_user"])
    facts = sorted(row[:2] + row[3:] for row in snapshot["fact_workout"])
    goals = sorted(row[:2] + row[3:] for row in snapshot["fact_goal"])
    rest = {k: v for k, v in snapshot.items() if k not in ("dim_user", "fact_workout", "fact_goal")}
    return {**rest, "dim_user": users, "fact_workout": facts, "fact_goal": goals}


def test_an_erased_account_leaves_the_warehouse_and_later_nights_still_reconcile(
    world: EtlWorld, three_days: dict[str, str]
) -> None:
    world.nightly(at(D4, 2))
    world.erase(three_days["bob"], at(D4, 9))
    # Ann's workout on D1, recorded on D4, makes D1 (where bob had one) be reconciled again.
    world.workout(three_days["ann"], at(D1, 21), kcal=50.0, recorded=at(D4, 10))

    report = world.nightly(at(D4 + timedelta(days=1), 2))
    backfill = world.load(D1)

    assert report is not None
    assert report.status is RunStatus.SUCCEEDED
    assert backfill.status is RunStatus.SUCCEEDED
    bob = three_days["bob"]
    for table in ("fact_workout", "fact_goal", "agg_daily_activity", "dim_user"):
        assert world.scalar(f"SELECT count(*) FROM {table} WHERE user_id = %s", bob) == 0
    assert world.scalar("SELECT count(*) FROM fact_workout") == 4
    assert world.scalar("SELECT sum(workouts) FROM agg_daily_activity") == 4
