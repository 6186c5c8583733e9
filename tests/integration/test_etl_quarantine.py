"""Rows the warehouse cannot hold are quarantined, counted and listed; the rest loads."""

from __future__ import annotations

from datetime import date

import pytest

from etl.domain import RunStatus
from tests.integration.etl_world import EtlWorld, at

D1, D2, D3 = (date(2026, 3, day) for day in (2, 3, 4))


@pytest.fixture
def world(sqlite_url: str, tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> EtlWorld:
    """Empty stores and an empty, migrated warehouse."""
    activity = tmp_path_factory.mktemp("activity") / "activity.db"
    return EtlWorld(sqlite_url, f"sqlite:///{activity}", postgres_url)


def test_a_nul_in_a_display_name_is_quarantined_and_the_night_loads_the_rest(
    world: EtlWorld,
) -> None:
    ann = world.register("ann", 60.0, at(D1, 8))
    world.register("bob", 80.0, at(D1, 9))
    world.users.update_profile(ann, {"display_name": "Ann\x00"})
    world.workout(ann, at(D1, 10), kcal=200.0)

    report = world.nightly(at(D2, 2))

    assert report is not None
    assert report.status is RunStatus.SUCCEEDED
    assert report.counts.quarantined == {"users": 1, "goals": 0, "workouts": 0}
    assert world.rows("SELECT username FROM dim_user") == [("bob",)]
    assert world.scalar("SELECT count(*) FROM fact_workout") == 1
    quarantined = world.rows("SELECT source, record_key, reason, record FROM etl_quarantine")
    assert [row[:3] for row in quarantined] == [
        ("users", ann, "display_name contains a NUL character")
    ]
    assert "Ann\\x00" in quarantined[0][3]
    manifest = world.rows("SELECT status, rows_quarantined FROM etl_runs")
    assert manifest == [("succeeded", {"users": 1, "goals": 0, "workouts": 0})]


def test_a_quarantined_row_that_is_fixed_loads_the_next_night_and_leaves_quarantine(
    world: EtlWorld,
) -> None:
    ann = world.register("ann", 60.0, at(D1, 8))
    world.users.update_profile(ann, {"birth_year": 2**31})
    world.nightly(at(D2, 2))
    assert world.scalar("SELECT reason FROM etl_quarantine") == (
        "birth_year is outside the integer range"
    )

    world.now = at(D2, 9)
    world.users.update_profile(ann, {"birth_year": 1990})
    report = world.nightly(at(D3, 2))

    assert report is not None
    assert report.counts.quarantined["users"] == 0
    assert world.rows("SELECT birth_year FROM dim_user WHERE is_current") == [(1990,)]
    assert world.scalar("SELECT count(*) FROM etl_quarantine") == 0


def test_a_quarantined_workout_is_accounted_for_by_reconciliation_on_every_later_night(
    world: EtlWorld,
) -> None:
    ann = world.register("ann", 60.0, at(D1, 8))
    world.workout(ann, at(D1, 10), kcal=200.0)
    bad = world.workout(ann, at(D1, 12), kcal=300.0, kind="yoga\x00")
    first = world.nightly(at(D2, 2))
    # A later workout on the same day, recorded the next day, makes D1 be reconciled again.
    world.workout(ann, at(D1, 20), minutes=30, kcal=100.0, recorded=at(D2, 8))

    second = world.nightly(at(D3, 2))

    assert first is not None
    assert second is not None
    assert first.counts.quarantined["workouts"] == 1
    assert second.status is RunStatus.SUCCEEDED
    assert world.scalar("SELECT count(*) FROM fact_workout") == 2
    assert world.rows("SELECT record_key, reason FROM etl_quarantine") == [
        (bad, "workout_type contains a NUL character")
    ]
    assert world.scalar("SELECT sum(calories) FROM agg_daily_activity") == pytest.approx(300.0)


def test_quarantining_the_same_row_again_keeps_one_entry_and_writes_no_fact(
    world: EtlWorld,
) -> None:
    ann = world.register("ann", 60.0, at(D1, 8))
    world.users.update_profile(ann, {"display_name": "\x00"})
    world.load(D1)
    again = world.load(D1)

    assert again.counts.quarantined["users"] == 1
    assert again.counts.rows_written == 0
    assert world.scalar("SELECT count(*) FROM etl_quarantine") == 1


def test_a_workout_with_an_unreadable_time_in_the_store_is_quarantined_not_fatal(
    world: EtlWorld,
) -> None:
    ann = world.register("ann", 60.0, at(D1, 8))
    world.workout(ann, at(D1, 10), kcal=200.0)
    bad = world.workout(ann, at(D1, 12), kcal=300.0)
    with world.activity_engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE workout_sessions SET end_time = 'not a time' WHERE session_id = ?", (bad,)
        )

    report = world.nightly(at(D2, 2))

    assert report is not None
    assert report.status is RunStatus.SUCCEEDED
    assert world.scalar("SELECT count(*) FROM fact_workout") == 1
    assert world.rows("SELECT record_key, reason FROM etl_quarantine") == [
        (bad, "end_time is not a time")
    ]
