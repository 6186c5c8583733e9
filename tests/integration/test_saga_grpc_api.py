"""The saga coordinator's gRPC API called directly, as grpcurl would: answers and refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from fitness.goal.v1 import goal_pb2
from fitness.saga.v1 import saga_service_pb2 as pb
from fitness.saga.v1 import saga_service_pb2_grpc as pb_grpc

from services.common.trust import GATEWAY, SAGA
from tests.helpers import (
    KeyFiles,
    ServiceCerts,
    address,
    channel_as,
    start_activity_server,
    start_saga_coordinator,
    start_user_server,
)

SOON = "2099-01-31"
WORKOUTS = goal_pb2.GOAL_TYPE_WORKOUTS_COUNT


@pytest.fixture
async def sagas(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts
) -> AsyncIterator[pb_grpc.SagaCoordinatorServiceStub]:
    certs = service_certs
    users = await start_user_server(f"sqlite:///{tmp_path / 'u.db'}", jwt_keys, certs=certs)
    activity = await start_activity_server(
        f"sqlite:///{tmp_path / 'a.db'}", [address(users)], certs=certs
    )
    coordinator = await start_saga_coordinator(
        f"sqlite:///{tmp_path / 's.db'}", [address(users)], [address(activity)], certs=certs
    )
    target = coordinator.server.bound_address
    async with channel_as(certs, GATEWAY, SAGA, target) as channel:
        yield pb_grpc.SagaCoordinatorServiceStub(channel)
    await coordinator.stop(grace=0)
    for server in (activity, users):
        await server.stop(grace=0)


async def code_of(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call  # type: ignore[misc]
    return failure.value.code()


@pytest.mark.parametrize(
    "request_",
    [
        pb.CreateGoalRequest(user_id="u", goal_type=WORKOUTS, target_value=1, target_date=SOON),
        pb.CreateGoalRequest(request_id="r", user_id="u", target_value=1, target_date=SOON),
        pb.CreateGoalRequest(
            request_id="r",
            user_id="u",
            goal_type=99,  # type: ignore[arg-type]
            target_value=1,
            target_date=SOON,
        ),
        pb.CreateGoalRequest(request_id="r", goal_type=WORKOUTS, target_value=1, target_date=SOON),
        pb.CreateGoalRequest(request_id="r", user_id="u", goal_type=WORKOUTS, target_value=1),
    ],
    ids=["no request_id", "no goal type", "unknown goal type", "no user", "no date"],
)
async def test_bad_create_requests_are_invalid_arguments_and_start_no_saga(
    sagas: pb_grpc.SagaCoordinatorServiceStub, request_: pb.CreateGoalRequest
) -> None:
    assert await code_of(sagas.CreateGoal(request_)) == grpc.StatusCode.INVALID_ARGUMENT
    assert list((await sagas.ListSagas(pb.ListSagasRequest())).sagas) == []


async def test_bad_update_and_delete_requests_are_invalid_arguments(
    sagas: pb_grpc.SagaCoordinatorServiceStub,
) -> None:
    no_goal = pb.UpdateGoalRequest(request_id="r", user_id="u", target_value=1, target_date=SOON)
    assert await code_of(sagas.UpdateGoal(no_goal)) == grpc.StatusCode.INVALID_ARGUMENT
    no_user = pb.DeleteGoalRequest(request_id="r", goal_id="g")
    assert await code_of(sagas.DeleteGoal(no_user)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_saga_for_a_missing_goal_is_compensated_with_not_found(
    sagas: pb_grpc.SagaCoordinatorServiceStub,
) -> None:
    saga = await sagas.DeleteGoal(pb.DeleteGoalRequest(request_id="r1", user_id="u", goal_id="g"))
    assert (saga.status, saga.failure_code) == (pb.SAGA_STATUS_COMPENSATED, "NOT_FOUND")
    history = await sagas.GetSaga(pb.GetSagaRequest(saga_id="r1"))
    assert [(e.step, e.outcome) for e in history.events] == [("prepare_goal_change", "failed")]


async def test_a_request_id_reused_for_another_request_is_already_exists(
    sagas: pb_grpc.SagaCoordinatorServiceStub,
) -> None:
    await sagas.DeleteGoal(pb.DeleteGoalRequest(request_id="r1", user_id="u", goal_id="g"))
    other = pb.DeleteGoalRequest(request_id="r1", user_id="u", goal_id="h")
    assert await code_of(sagas.DeleteGoal(other)) == grpc.StatusCode.ALREADY_EXISTS


async def test_reading_sagas_refuses_unknown_ids_and_huge_pages(
    sagas: pb_grpc.SagaCoordinatorServiceStub,
) -> None:
    assert (
        await code_of(sagas.GetSaga(pb.GetSagaRequest(saga_id="nope"))) == grpc.StatusCode.NOT_FOUND
    )
    huge = pb.ListSagasRequest(page_size=10_000)
    assert await code_of(sagas.ListSagas(huge)) == grpc.StatusCode.INVALID_ARGUMENT
