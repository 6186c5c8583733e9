"""``etl`` as an operator runs it: a real process over real stores."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.integration.etl_world import EtlWorld, at, etl_env

DAY = date(2026, 3, 2)


@pytest.fixture
def world(tmp_path: Path, postgres_url: str) -> EtlWorld:
    """Stores with one user and two workouts on DAY, and an empty warehouse."""
    world = EtlWorld(
        f"sqlite:///{tmp_path / 'user.db'}", f"sqlite:///{tmp_path / 'activity.db'}", postgres_url
    )
    ann = world.register("ann", 61.0, at(DAY, 7))
    world.workout(ann, at(DAY, 8), kcal=300.0)
    world.workout(ann, at(DAY, 18), kind="yoga", kcal=120.0)
    return world


def etl(tmp_path: Path, warehouse_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m etl ARGS`` against the test stores."""
    command = [sys.executable, "-m", "etl", *args]
    env = etl_env(tmp_path, warehouse_url)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_run_for_a_date_loads_it_and_prints_what_it_read_and_wrote(
    world: EtlWorld, tmp_path: Path, postgres_url: str
) -> None:
    result = etl(tmp_path, postgres_url, "run", "--date", "2026-03-02")

    assert result.returncode == 0, result.stderr
    assert "succeeded" in result.stdout
    assert "'workouts': 2" in result.stdout
    assert world.scalar("SELECT count(*) FROM fact_workout") == 2


def test_run_shows_a_progress_bar_of_workouts(
    world: EtlWorld, tmp_path: Path, postgres_url: str
) -> None:
    result = etl(tmp_path, postgres_url, "run", "--from", "2026-03-01", "--to", "2026-03-02")

    assert result.returncode == 0, result.stderr
    assert "100%" in result.stderr
    assert "2.00/2.00" in result.stderr
    assert "workouts" in result.stderr


def test_report_prints_every_view_as_a_table(
    world: EtlWorld, tmp_path: Path, postgres_url: str
) -> None:
    etl(tmp_path, postgres_url, "run", "--date", "2026-03-02", "--no-progress")

    result = etl(tmp_path, postgres_url, "report")
    one = etl(tmp_path, postgres_url, "report", "workout-type-mix", "--limit", "1")

    assert result.returncode == 0, result.stderr
    for name in ("calories-per-user-week", "active-users-per-day", "goal-completion-rate"):
        assert f"== {name}" in result.stdout
    assert "ann" in result.stdout
    assert one.stdout.splitlines()[3].split()[:2] == ["running", "1"]
    assert len(one.stdout.strip().splitlines()) == 4  # title, header, rule, one row


def test_runs_prints_the_manifest(world: EtlWorld, tmp_path: Path, postgres_url: str) -> None:
    etl(tmp_path, postgres_url, "run", "--date", "2026-03-02", "--no-progress")

    result = etl(tmp_path, postgres_url, "runs")

    assert result.returncode == 0, result.stderr
    assert "succeeded" in result.stdout
    assert "'workouts': 2" in result.stdout


def test_a_bad_row_is_named_by_the_run_and_listed_by_quarantine(
    world: EtlWorld, tmp_path: Path, postgres_url: str
) -> None:
    bob = world.register("bob", 70.0, at(DAY, 9))
    world.users.update_profile(bob, {"display_name": "Bob\x00"})

    run = etl(tmp_path, postgres_url, "run", "--date", "2026-03-02", "--no-progress")
    listed = etl(tmp_path, postgres_url, "quarantine")

    assert run.returncode == 0, run.stderr
    assert "quarantined {'users': 1}" in run.stdout
    assert listed.returncode == 0, listed.stderr
    assert bob in listed.stdout
    assert "display_name contains a NUL character" in listed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--date", "2026-13-01"], "invalid parse_date value"),
        (["run", "--to", "2026-03-02"], "--to needs --from"),
        (["run", "--date", "2026-03-02", "--from", "2026-03-01"], "not allowed with"),
        (["report", "no-such-report"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    tmp_path: Path, postgres_url: str, args: list[str], message: str
) -> None:
    result = etl(tmp_path, postgres_url, *args)

    assert result.returncode == 2
    assert message in result.stderr


def test_a_backwards_range_is_refused(tmp_path: Path, postgres_url: str) -> None:
    result = etl(tmp_path, postgres_url, "run", "--from", "2026-03-05", "--to", "2026-03-01")

    assert result.returncode == 1
    assert "before --from" in result.stderr


def test_without_a_warehouse_url_it_says_which_variable_to_set(tmp_path: Path) -> None:
    result = etl(tmp_path, "", "run")

    assert result.returncode == 2
    assert "ETL_WAREHOUSE_URL" in result.stderr


def test_an_unreachable_warehouse_fails_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    from deploy.local import free_port

    result = etl(tmp_path, f"postgresql://postgres@127.0.0.1:{free_port()}/x", "runs")

    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert "Traceback" not in result.stderr


def test_stores_without_their_schema_fail_with_a_message_not_a_traceback(
    tmp_path: Path, postgres_url: str
) -> None:
    from etl.__main__ import MIGRATIONS
    from services.common.db import make_engine, migrate

    migrate(make_engine(postgres_url, pool_size=1), MIGRATIONS)

    result = etl(tmp_path, postgres_url, "run", "--date", "2026-03-02")

    assert result.returncode == 1
    assert result.stderr.startswith("error: OperationalError: no such table")
    assert "Traceback" not in result.stderr


def test_a_second_run_while_one_loads_exits_3(
    world: EtlWorld, tmp_path: Path, postgres_url: str
) -> None:
    with world.warehouse.exclusive():
        result = etl(tmp_path, postgres_url, "run", "--date", "2026-03-02")

    assert result.returncode == 3
    assert "another ETL run" in result.stderr


def test_a_run_killed_between_batches_is_found_crashed_and_resumed_by_the_next(
    tmp_path: Path, postgres_url: str
) -> None:
    world = EtlWorld(
        f"sqlite:///{tmp_path / 'user.db'}", f"sqlite:///{tmp_path / 'activity.db'}", postgres_url
    )
    ann = world.register("ann", 61.0, at(DAY, 7))
    for day in range(3):
        world.workout(ann, at(DAY + timedelta(days=day), 8))
    env = {**etl_env(tmp_path, postgres_url), "ETL_PAUSE_AFTER_BATCH": "3"}
    command = [sys.executable, "-m", "etl", "run", "--from", "2026-03-02", "--to", "2026-03-04"]
    victim = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: world.rows("SELECT committed_to FROM etl_runs") == [(at(DAY, 0),)])
        _wait_for(
            lambda: (
                world.rows("SELECT committed_to FROM etl_runs")
                == [(at(DAY + timedelta(days=1), 0),)]
            )
        )
    finally:
        victim.kill()  # SIGKILL: no cleanup, the manifest row stays 'running'
        victim.wait()

    resumed = etl(tmp_path, postgres_url, "run", "--from", "2026-03-02", "--to", "2026-03-04")

    assert resumed.returncode == 0, resumed.stderr
    runs = world.rows(
        "SELECT status, (rows_written->>'workouts')::int FROM etl_runs ORDER BY started_at"
    )
    assert runs == [("crashed", 1), ("succeeded", 2)]  # the resumed run did the other two days
    assert world.scalar("SELECT count(*) FROM fact_workout") == 3


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
