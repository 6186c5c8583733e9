"""The account deletion saga and the fence that settles a lost start, on fakes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from saga_coordinator.account_saga import account_sagas, delete_user_data
from saga_coordinator.domain import (
    BusinessFailure,
    InvalidRequest,
    SagaConflict,
    SagaStatus,
    TransientFailure,
)
from saga_coordinator.engine import Engine, RetryPolicy, StepCall
from saga_coordinator.service import Coordinator
from tests.unit.saga_fakes import FakeTime, InMemorySagaLog, Script


class RecordingAccountParticipants:
    """AccountParticipants that record calls and fail as scripted."""

    def __init__(self, failures: Mapping[str, list[Exception]] | None = None) -> None:
        self.calls: list[str] = []
        self.failures = {k: list(v) for k, v in (failures or {}).items()}

    async def _call(self, name: str, call: StepCall) -> None:
        self.calls.append(f"{name} {call.request_id} {call.data['user_id']}")
        planned = self.failures.get(name, [])
        if planned:
            raise planned.pop(0)

    async def begin_user_deletion(self, call: StepCall) -> None:
        await self._call("begin", call)

    async def cancel_user_deletion(self, call: StepCall) -> None:
        await self._call("cancel", call)

    async def delete_user_activity(self, call: StepCall) -> None:
        await self._call("activity", call)

    async def erase_user(self, call: StepCall) -> None:
        await self._call("erase", call)


def coordinator_over(definitions: Mapping[str, Any]) -> Coordinator:
    time = FakeTime()
    saga_log = InMemorySagaLog()
    policy = RetryPolicy(max_attempts=2, compensation_max_attempts=5)
    engine = Engine(saga_log, definitions, policy, clock=time, sleep=time.sleep)
    return Coordinator(engine, saga_log, clock=time)


async def test_deleting_an_account_marks_the_user_then_erases_activity_then_the_account() -> None:
    participants = RecordingAccountParticipants()
    coordinator = coordinator_over(account_sagas(participants))
    await coordinator.start("delete_user", "d1", delete_user_data("u-1"))
    finished = await coordinator.wait("d1", 5)
    assert finished.status is SagaStatus.COMPLETED
    assert participants.calls == [
        "begin d1:mark_user_deleting u-1",
        "activity d1:delete_activity_data u-1",
        "erase d1:erase_user u-1",
    ]


async def test_deleting_an_unknown_user_is_undone_with_not_found() -> None:
    participants = RecordingAccountParticipants(
        {"begin": [BusinessFailure("NOT_FOUND", "user u-1 not found")]}
    )
    coordinator = coordinator_over(account_sagas(participants))
    await coordinator.start("delete_user", "d1", delete_user_data("u-1"))
    finished = await coordinator.wait("d1", 5)
    assert (finished.status, finished.failure_code) == (SagaStatus.COMPENSATED, "NOT_FOUND")
    assert participants.calls == ["begin d1:mark_user_deleting u-1"]


async def test_past_the_activity_deletion_the_saga_keeps_retrying_instead_of_undoing() -> None:
    down = [TransientFailure("UNAVAILABLE", "down")] * 3
    participants = RecordingAccountParticipants({"erase": list(down)})
    coordinator = coordinator_over(account_sagas(participants))
    await coordinator.start("delete_user", "d1", delete_user_data("u-1"))
    finished = await coordinator.wait("d1", 5)
    assert finished.status is SagaStatus.COMPLETED
    assert participants.calls.count("erase d1:erase_user u-1") == 4
    assert not any(call.startswith("cancel") for call in participants.calls)


def test_an_account_deletion_needs_a_user_id() -> None:
    with pytest.raises(InvalidRequest):
        delete_user_data("")


async def test_fencing_an_unknown_saga_id_refuses_its_later_start() -> None:
    coordinator = coordinator_over(Script().saga(Script().step("a")))
    fenced = await coordinator.fence("lost", "u-1")
    assert (fenced.status, fenced.data) == (SagaStatus.NOT_ACCEPTED, {"user_id": "u-1"})
    with pytest.raises(SagaConflict):
        await coordinator.start("test", "lost", {"x": 1})
    assert (await coordinator.fence("lost", "u-1")).status is SagaStatus.NOT_ACCEPTED


async def test_fencing_a_known_saga_returns_it_untouched() -> None:
    script = Script()
    coordinator = coordinator_over(script.saga(script.step("a")))
    await coordinator.start("test", "s1", {"x": 1})
    await coordinator.wait("s1", 5)
    found = await coordinator.fence("s1", "u-1")
    assert (found.saga_type, found.status) == ("test", SagaStatus.COMPLETED)
    with pytest.raises(InvalidRequest):
        await coordinator.fence("", "u-1")
