"""A saga start whose answer is lost is remembered for its user; one never sent is not."""

from __future__ import annotations

from typing import Any, cast

import grpc
import pytest
from fitness.saga.v1 import saga_service_pb2 as saga_pb

from gateway.edge.dependencies import Upstreams
from gateway.routes.changes import LostChanges, start_saga
from services.common.upstream import NoInstanceAvailable, RpcFailed, SagaRpc


class FakeRedis:
    """The two Redis calls LostChanges makes, in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def set(self, key: str, value: str, ex: int) -> None:
        self.values[key] = value

    async def get(self, key: str) -> str | None:
        return self.values.get(key)


class FailingSagas:
    """A saga pool whose every call fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def call(self, rpc: Any, request: Any) -> Any:
        raise self.error


def pools(error: Exception) -> Upstreams:
    """Pools whose saga coordinator fails; the others are never called."""
    return cast(Upstreams, type("Pools", (), {"sagas": FailingSagas(error)})())


def lost() -> LostChanges:
    """A LostChanges over an in-memory Redis."""
    return LostChanges(cast(Any, FakeRedis()))


async def test_a_start_sent_but_unanswered_is_remembered_for_its_user() -> None:
    record = lost()
    request = saga_pb.UpdateGoalRequest(request_id="a" * 32, user_id="ann", goal_id="g")

    saga = await start_saga(
        pools(NoInstanceAvailable("saga", 1, attempted=True)), SagaRpc.UpdateGoal, request, record
    )

    assert saga is None
    assert await record.issued_to("a" * 32) == "ann"


async def test_a_start_never_sent_is_a_503_and_nothing_is_remembered() -> None:
    record = lost()
    request = saga_pb.DeleteUserRequest(request_id="b" * 32, user_id="bob")

    with pytest.raises(NoInstanceAvailable):
        await start_saga(pools(NoInstanceAvailable("saga", 1)), SagaRpc.DeleteUser, request, record)

    assert await record.issued_to("b" * 32) is None


async def test_a_keyed_start_is_left_to_its_idempotency_record() -> None:
    record = lost()
    request = saga_pb.DeleteUserRequest(request_id="idem-" + "c" * 32, user_id="cy")

    saga = await start_saga(
        pools(NoInstanceAvailable("saga", 1, attempted=True)), SagaRpc.DeleteUser, request, record
    )

    assert saga is None
    assert await record.issued_to("idem-" + "c" * 32) is None


async def test_a_start_the_coordinator_refused_is_passed_on_and_not_remembered() -> None:
    record = lost()
    request = saga_pb.CreateGoalRequest(request_id="d" * 32, user_id="di")
    refusal = RpcFailed("saga", grpc.StatusCode.INVALID_ARGUMENT, "goal_type is required")

    with pytest.raises(RpcFailed):
        await start_saga(pools(refusal), SagaRpc.CreateGoal, request, record)

    assert await record.issued_to("d" * 32) is None


async def test_a_start_whose_deadline_passed_may_have_started_and_is_remembered() -> None:
    record = lost()
    request = saga_pb.CreateGoalRequest(request_id="e" * 32, user_id="ed")
    timeout = RpcFailed("saga", grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")

    saga = await start_saga(pools(timeout), SagaRpc.CreateGoal, request, record)

    assert saga is None
    assert await record.issued_to("e" * 32) == "ed"
