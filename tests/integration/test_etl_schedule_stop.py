"""``etl schedule`` stopped by Ctrl-C or SIGTERM: exit 0, no traceback, the run resumable."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.integration.etl_world import EtlWorld, at, etl_env

# Close to today: the nightly run loads from the first day with data up to last midnight.
DAY = datetime.now(UTC).date() - timedelta(days=4)


def start_scheduler(tmp_path: Path, postgres_url: str, **env: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "etl", "schedule"]
    return subprocess.Popen(
        command,
        env={**etl_env(tmp_path, postgres_url), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def world_with_days(tmp_path: Path, postgres_url: str, days: int) -> EtlWorld:
    world = EtlWorld(
        f"sqlite:///{tmp_path / 'user.db'}", f"sqlite:///{tmp_path / 'activity.db'}", postgres_url
    )
    ann = world.register("ann", 61.0, at(DAY, 7))
    for day in range(days):
        world.workout(ann, at(DAY + timedelta(days=day), 8))
    return world


def test_ctrl_c_while_the_scheduler_waits_exits_0_without_a_traceback(
    tmp_path: Path, postgres_url: str
) -> None:
    world = world_with_days(tmp_path, postgres_url, 1)
    scheduler = start_scheduler(tmp_path, postgres_url)
    try:
        _wait_for(lambda: world.rows("SELECT status FROM etl_runs") == [("succeeded",)])
        scheduler.send_signal(signal.SIGINT)
        _, stderr = scheduler.communicate(timeout=30)
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
    assert scheduler.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "release unlocked lock" not in stderr


def test_sigterm_during_a_run_stops_it_after_the_committed_batch(
    tmp_path: Path, postgres_url: str
) -> None:
    world = world_with_days(tmp_path, postgres_url, 3)
    scheduler = start_scheduler(tmp_path, postgres_url, ETL_PAUSE_AFTER_BATCH="2")
    try:
        _wait_for(lambda: world.scalar("SELECT count(*) FROM fact_workout") == 1)
        scheduler.send_signal(signal.SIGTERM)
        _, stderr = scheduler.communicate(timeout=30)
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
    assert scheduler.returncode == 0, stderr
    assert "Traceback" not in stderr
    status, error = world.rows("SELECT status, error FROM etl_runs")[0]
    assert status == "failed"
    assert "stopped by a signal" in error
    assert world.scalar("SELECT count(*) FROM fact_workout") == 1  # the next run does the rest


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
