"""The simulated-device ingester on the real PostgreSQL store: rounds in process, and
``python -m services.health_metrics.ingester`` SIGKILLed mid-day, restarted and SIGTERMed:
it resumes at the unmarked day, and the stored points and sessions are the simulated days
exactly, none lost, none twice."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from deploy.polling import wait_for
from services.health_metrics.domain import Metric
from services.health_metrics.ingester.metrics import IngesterMetrics
from services.health_metrics.ingester.worker import Ingester, Schedule
from services.health_metrics.postgres import PostgresHealthStore, open_store
from services.health_metrics.simulator import SimulatedDay, midnight, simulate_day
from tests.integration.health_harness import mismatches, refresh_all
from tests.integration.test_motion_processor_sigkill import stop

ROOT = Path(__file__).resolve().parents[2]
FIRST = date(2024, 1, 1)
DAY = timedelta(days=1)
USERS = ("alice", "bob")
Key = tuple[str, str, datetime]


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresHealthStore]:
    """The store on a new, empty database, with USERS' simulated devices linked."""
    opened = open_store(postgres_url, pool_size=4)
    for user in USERS:
        opened.link_simulator(user)
    yield opened
    opened.close()


@functools.cache
def simulated(user: str, day: date) -> SimulatedDay:
    """The simulated day (each computed once: ~0.5 s)."""
    return simulate_day(user, day)


def expected(user: str, first: date, last: date) -> dict[Key, float]:
    """The simulated points of the user's days from ``first`` to ``last``."""
    found: dict[Key, float] = {}
    for n in range((last - first).days + 1):
        for metric, points in simulated(user, first + n * DAY).points.items():
            found.update({(user, metric.value, p.time): p.value for p in points})
    return found


def rows(store: PostgresHealthStore, user: str) -> list[tuple[Key, float]]:
    """Every stored row of the user, one per row (a duplicate would show twice)."""
    with store.engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT metric, time, value FROM points WHERE user_id = %(u)s", {"u": user}
        )
        return [((user, m, t.astimezone(UTC)), v) for m, t, v in found]


def has_points(store: PostgresHealthStore, user: str, start: datetime, end: datetime) -> bool:
    """Whether the user has a point in ``[start, end)``."""
    with store.engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT 1 FROM points WHERE user_id = %(u)s AND time >= %(s)s AND time < %(e)s LIMIT 1",
            {"u": user, "s": start, "e": end},
        )
        return found.first() is not None


def assert_exactly_simulated(store: PostgresHealthStore, user: str, through: date) -> None:
    """The user's points up to the end of ``through`` are the simulation's, each once,
    and the sessions those nights'; later points (a day cut short) are simulated values."""
    end = midnight(through + DAY)
    found = rows(store, user)
    assert len(found) == len({key for key, _ in found}), "a point stored twice"
    assert {k: v for k, v in found if k[2] < end} == expected(user, FIRST, through)
    later = {k: v for k, v in found if k[2] >= end}
    assert later.items() <= expected(user, through + DAY, through + DAY).items()
    night_end = datetime.combine(through, datetime.max.time(), UTC)
    days = [FIRST + n * DAY for n in range((through - FIRST).days + 1)]
    sessions = [simulated(user, day).sleep[0] for day in days]
    assert store.read_sleep(user, midnight(FIRST), night_end) == sessions


def test_rounds_store_each_users_next_day_and_the_rollups_equal_a_full_recompute(
    store: PostgresHealthStore,
) -> None:
    registry = CollectorRegistry()
    schedule, metrics = Schedule(FIRST, 0.01), IngesterMetrics(registry)
    ingester = Ingester(store, schedule, metrics, simulate=lambda u, d, _: simulated(u, d))
    assert ingester.run_once() == [(u, FIRST) for u in USERS]
    assert ingester.run_once() == [(u, FIRST + DAY) for u in USERS]
    for user in USERS:
        assert store.ingested_through(user) == FIRST + DAY
        assert_exactly_simulated(store, user, FIRST + DAY)
    refresh_all(store)
    assert mismatches(store.engine) == []
    changed = registry.get_sample_value(
        "health_ingester_points_total", {"metric": "heart_rate", "outcome": "changed"}
    )
    hr = sum(
        len(simulate_day(u, d).points[Metric.HEART_RATE])
        for u in USERS
        for d in (FIRST, FIRST + DAY)
    )
    assert changed == hr


def start_ingester(url: str, logs: Path, name: str) -> subprocess.Popen[bytes]:
    """``python -m services.health_metrics.ingester`` with a short interval, logging to a file."""
    env = {
        **os.environ,
        "HEALTH_INGESTER_DATABASE_URL": url,
        "HEALTH_INGESTER_INTERVAL_SECONDS": "0.05",
        "HEALTH_INGESTER_FIRST_DAY": FIRST.isoformat(),
        "HEALTH_INGESTER_LOG_LEVEL": "INFO",
    }
    out = (logs / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "services.health_metrics.ingester"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def marks(store: PostgresHealthStore) -> dict[str, date | None]:
    """Each user's last marked day."""
    return {user: store.ingested_through(user) for user in USERS}


def reached(store: PostgresHealthStore, target: dict[str, date]) -> bool:
    """Whether every user's mark is at its target day or later."""
    return all(
        (mark := store.ingested_through(u)) is not None and mark >= d for u, d in target.items()
    )


def unmarked_points(store: PostgresHealthStore) -> list[str]:
    """The users with points stored past their last marked day (a day in the writing)."""
    found = []
    for user, mark in marks(store).items():
        after = midnight(mark + DAY) if mark else midnight(FIRST)
        if has_points(store, user, after, after + DAY):
            found.append(user)
    return found


def kill_mid_day(process: subprocess.Popen[bytes], store: PostgresHealthStore) -> None:
    """SIGKILL the ingester while a day is half written: stopped first, so that what the
    check saw still holds when the kill lands (it may have finished the day meanwhile)."""
    for _ in range(20):
        wait_for(lambda: bool(unmarked_points(store)), 60, "a day half written", every=0.02)
        process.send_signal(signal.SIGSTOP)
        if unmarked_points(store):
            process.send_signal(signal.SIGKILL)
            return
        process.send_signal(signal.SIGCONT)
    raise AssertionError("the ingester was never caught with a day half written")


def stored_days(log: Path) -> list[tuple[str, str]]:
    """(user, day) of each "simulated day stored" line of a process's JSON log."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [(e["user"], e["day"]) for e in lines if e["message"] == "simulated day stored"]


def test_a_sigkilled_ingester_restarted_resumes_at_the_unmarked_day_losing_and_doubling_nothing(
    postgres_url: str, store: PostgresHealthStore, tmp_path: Path
) -> None:
    first = start_ingester(postgres_url, tmp_path, "first")
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: all(marks(store).values()), 120, "a first day of every user")
        kill_mid_day(first, store)
        assert first.wait(10) == -signal.SIGKILL
        killed_marks, cut = marks(store), unmarked_points(store)
        assert cut, "the kill landed while a day was being written"
        second = start_ingester(postgres_url, tmp_path, "second")
        target = {u: m + 2 * DAY for u, m in killed_marks.items() if m}
        wait_for(lambda: reached(store, target), 120, "two more days of every user")
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, "SIGTERM stops the ingester cleanly"
        resumed = stored_days(tmp_path / "second.log")
        for user, mark in killed_marks.items():
            assert mark is not None
            assert next(d for u, d in resumed if u == user) == (mark + DAY).isoformat()
        for user, mark in marks(store).items():
            assert mark is not None
            assert_exactly_simulated(store, user, mark)
    finally:
        stop(first)
        if second is not None:
            stop(second)
