"""The saga log on a pg_auto_failover formation: SIGKILL the primary while sagas are logged.

Four writers start sagas in the log (as the coordinator's StartGoalChange does, the saga id
being the caller's request_id) and repeat a failed start with the same id until it is
stored. A start whose commit was cut off by the kill is settled by its id: the repeat
finds it (created=False) or stores it, never both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import pytest

from deploy.pg_formation import Formation
from saga_coordinator.__main__ import MIGRATIONS
from saga_coordinator.domain import SagaRecord, SagaStatus
from saga_coordinator.log import SqlSagaLog
from services.common.db import DatabaseUnavailable, make_engine, migrate
from services.common.timeutil import utc_now

WRITERS = 4
STARTS_BEFORE_KILL = 40
STARTS_AFTER_RECOVERY = 40
DEADLINE = 60.0  # bound of each wait: a run that does not get there fails
RETRY_PAUSE = 0.1  # a caller's pause before it repeats a failed start
pytestmark = pytest.mark.timeout(300)


@dataclass
class Starts:
    """Sagas the log acknowledged, and what the writers saw on the way."""

    stored: set[str] = field(default_factory=set)
    found_on_retry: list[str] = field(default_factory=list)  # commit had landed: created=False
    unavailable: int = 0
    killed_at: float | None = None
    after_recovery: int = 0
    recovered_after: float | None = None


async def _writer(log: SqlSagaLog, starts: Starts, writer: int, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        now = utc_now()
        record = SagaRecord(
            f"s{writer}-{n}", "create_goal", SagaStatus.RUNNING, 0, {"user_id": "u"}, now, now
        )
        retried = False
        while not stop.is_set():
            sent_at = time.monotonic()
            try:
                _, created = await log.create(record)
            except DatabaseUnavailable:  # anything else is a bug and fails the test
                starts.unavailable += 1
                retried = True
                await asyncio.sleep(RETRY_PAUSE)
                continue
            starts.stored.add(record.saga_id)
            if retried and not created:
                starts.found_on_retry.append(record.saga_id)
            if starts.killed_at is not None and sent_at > starts.killed_at:
                if starts.recovered_after is None:
                    starts.recovered_after = time.monotonic() - starts.killed_at
                starts.after_recovery += 1
            break


async def _until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {DEADLINE:.0f} s")
        await asyncio.sleep(0.05)


@dataclass(frozen=True)
class Run:
    """One kill of the primary while sagas are started."""

    starts: Starts
    old_primary: str
    new_primary: str


async def _kill_while_logging(formation: Formation) -> Run:
    engine = make_engine(formation.url("sagas"), pool_size=WRITERS)
    migrate(engine, MIGRATIONS)
    log, starts, stop = SqlSagaLog(engine), Starts(), asyncio.Event()
    writers = [asyncio.create_task(_writer(log, starts, w, stop)) for w in range(WRITERS)]
    try:
        await _until(lambda: len(starts.stored) >= STARTS_BEFORE_KILL, "starts before kill")
        old_primary = formation.primary()
        starts.killed_at = time.monotonic()
        formation.kill(old_primary)
        new_primary = await asyncio.to_thread(formation.wait_primary, old_primary)
        await _until(lambda: starts.after_recovery >= STARTS_AFTER_RECOVERY, "starts again")
    finally:
        stop.set()
        await asyncio.gather(*writers)
        engine.dispose()
    return Run(starts, old_primary, new_primary)


@pytest.fixture(scope="module")
def saga_run(pg_formation: Formation) -> Run:
    """One SIGKILL of the primary under saga starts; the tests judge it."""
    run = asyncio.run(_kill_while_logging(pg_formation))
    # From this (the main) thread: a keeper gets SIGTERM when the thread that started it ends.
    pg_formation.restart(run.old_primary)
    starts = run.starts
    print(
        "saga log failover:",
        {
            "seconds_until_starts_succeed_again": round(starts.recovered_after or -1, 1),
            "unavailable_in_between": starts.unavailable,
            "stored": len(starts.stored),
            "cut_off_commits_found_by_id": len(starts.found_on_retry),
        },
    )
    return run


def _logged(node_url: str) -> set[str]:
    with psycopg.connect(node_url, connect_timeout=2) as conn:
        return {str(row[0]) for row in conn.execute("SELECT saga_id FROM sagas")}


def test_no_stored_saga_is_lost_when_the_logs_primary_is_killed(
    saga_run: Run, pg_formation: Formation
) -> None:
    promoted = pg_formation.node_url(saga_run.new_primary, "sagas")
    assert saga_run.new_primary != saga_run.old_primary
    assert len(saga_run.starts.stored) >= STARTS_BEFORE_KILL + STARTS_AFTER_RECOVERY
    assert saga_run.starts.stored - _logged(promoted) == set()


def test_the_kill_is_seen_as_database_unavailable_and_a_repeat_finds_or_stores_once(
    saga_run: Run, pg_formation: Formation
) -> None:
    starts = saga_run.starts
    assert starts.unavailable > 0
    promoted = pg_formation.node_url(saga_run.new_primary, "sagas")
    with psycopg.connect(promoted, connect_timeout=2) as conn:
        row = conn.execute("SELECT count(*) FROM sagas").fetchone()
    assert row is not None
    # Each writer's last, unacknowledged start may be stored too; nothing else is.
    assert len(starts.stored) <= row[0] <= len(starts.stored) + WRITERS


def test_the_logs_old_primary_rejoins_as_a_standby(saga_run: Run, pg_formation: Formation) -> None:
    states = {s.name: s.reported for s in pg_formation.states()}
    assert states[saga_run.old_primary] == "secondary"
    assert sorted(states.values()) == ["primary", "secondary", "secondary"]
