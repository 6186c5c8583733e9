"""The SQL saga log on SQLite and PostgreSQL: what the engine writes is what a restart reads.

The same contract runs against the in-memory log the engine's unit tests use
(tests/unit/saga_fakes.py), so that fake cannot drift from the real log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from saga_coordinator.__main__ import MIGRATIONS
from saga_coordinator.domain import SagaEvent, SagaRecord, SagaStatus
from saga_coordinator.log import SagaLog, SqlSagaLog
from services.common.db import make_engine, migrate
from tests.unit.saga_fakes import InMemorySagaLog

T0 = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def saga_log(request: pytest.FixtureRequest) -> Iterator[SagaLog]:
    """The SQL saga log on a migrated database, or the unit tests' in-memory log."""
    if request.param == "memory":
        yield InMemorySagaLog()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = make_engine(url)
    migrate(engine, MIGRATIONS)
    yield SqlSagaLog(engine)
    engine.dispose()


def record(saga_id: str = "s1", **changes: object) -> SagaRecord:
    data = {"user_id": "u1", "goal_id": "g1", "target_value": 300.0}
    base = SagaRecord(saga_id, "create_goal", SagaStatus.RUNNING, 0, data, T0, T0)
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_a_created_saga_reads_back_equal_and_its_id_is_taken_once(
    saga_log: SagaLog,
) -> None:
    assert await saga_log.create(record()) == (record(), True)
    assert await saga_log.create(record(saga_type="delete_goal")) == (record(), False)
    assert await saga_log.get("s1") == record()
    assert await saga_log.get("missing") is None


async def test_saved_state_and_history_survive_for_the_next_process(saga_log: SagaLog) -> None:
    await saga_log.create(record())
    retry_at = T0 + timedelta(seconds=3)
    moved = record(
        step_index=1,
        attempt=2,
        next_retry_at=retry_at,
        last_error="UNAVAILABLE: down",
        data={"user_id": "u1", "goal_id": "g1", "target_value": 300.0, "start_time": "x"},
        updated_at=T0 + timedelta(seconds=1),
    )
    event = SagaEvent("s1", "plan_suggestions", "action", "retry_scheduled", 2, T0, "down")
    await saga_log.save(moved, event)
    assert await saga_log.get("s1") == moved
    assert await saga_log.events("s1") == [event]


async def test_only_unfinished_sagas_are_resumed_and_listing_filters_by_status(
    saga_log: SagaLog,
) -> None:
    await saga_log.create(record("a"))
    await saga_log.create(record("b", status=SagaStatus.COMPENSATING, updated_at=T0 + timedelta(1)))
    await saga_log.create(record("c", status=SagaStatus.COMPLETED, updated_at=T0 + timedelta(2)))
    assert [r.saga_id for r in await saga_log.unfinished()] == ["a", "b"]
    assert [r.saga_id for r in await saga_log.recent(None, 10)] == ["c", "b", "a"]
    done = await saga_log.recent(SagaStatus.COMPLETED, 10)
    assert [r.saga_id for r in done] == ["c"]
    assert len(await saga_log.recent(None, 2)) == 2
