"""Thin translation between the fitness.saga.v1 gRPC API and the coordinator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from fitness.saga.v1 import saga_service_pb2 as pb
from fitness.saga.v1 import saga_service_pb2_grpc as pb_grpc

from saga_coordinator import account_saga, goal_saga
from saga_coordinator.domain import (
    InvalidRequest,
    SagaConflict,
    SagaEvent,
    SagaNotFound,
    SagaStatus,
    SagaView,
)
from saga_coordinator.service import Coordinator
from services.common.db import DatabaseUnavailable
from services.common.goal_types import GoalType
from services.common.grpc_runtime import Context, StatusTable, abort_if_known, awaited_or_abort
from services.common.timeutil import format_time

T = TypeVar("T")
STATUSES: StatusTable = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    SagaNotFound: grpc.StatusCode.NOT_FOUND,
    SagaConflict: grpc.StatusCode.ALREADY_EXISTS,
    # The log is failing over: a retry with the same request_id finds or starts the saga.
    DatabaseUnavailable: grpc.StatusCode.UNAVAILABLE,
}
_STATUS_PREFIX = "SAGA_STATUS_"
# How long a call without a deadline (e.g. from grpcurl) waits for its saga to finish.
WAIT_WITHOUT_DEADLINE = 10.0


class SagaCoordinatorServicer(pb_grpc.SagaCoordinatorServiceServicer):
    """Serves SagaCoordinatorService: starts sagas and waits for them within the deadline."""

    def __init__(self, coordinator: Coordinator, wait_margin: float) -> None:
        self.coordinator = coordinator
        self.wait_margin = wait_margin

    async def CreateGoal(  # noqa: N802 - gRPC method names are PascalCase
        self, request: pb.CreateGoalRequest, context: Context
    ) -> pb.Saga:
        """Start (or find) a create_goal saga."""
        data = await _data_or_abort(
            context,
            goal_saga.create_goal_data,
            request.request_id,
            request.user_id,
            GoalType.from_proto(request.goal_type),
            request.target_value,
            request.target_date,
        )
        return await self._run("create_goal", request.request_id, data, context)

    async def UpdateGoal(  # noqa: N802
        self, request: pb.UpdateGoalRequest, context: Context
    ) -> pb.Saga:
        """Start (or find) an update_goal saga."""
        data = await _data_or_abort(
            context,
            goal_saga.update_goal_data,
            request.user_id,
            request.goal_id,
            request.target_value,
            request.target_date,
        )
        return await self._run("update_goal", request.request_id, data, context)

    async def DeleteGoal(  # noqa: N802
        self, request: pb.DeleteGoalRequest, context: Context
    ) -> pb.Saga:
        """Start (or find) a delete_goal saga."""
        data = await _data_or_abort(
            context, goal_saga.delete_goal_data, request.user_id, request.goal_id
        )
        return await self._run("delete_goal", request.request_id, data, context)

    async def DeleteUser(  # noqa: N802
        self, request: pb.DeleteUserRequest, context: Context
    ) -> pb.Saga:
        """Start (or find) a delete_user saga."""
        data = await _data_or_abort(context, account_saga.delete_user_data, request.user_id)
        return await self._run("delete_user", request.request_id, data, context)

    async def FenceSaga(  # noqa: N802
        self, request: pb.FenceSagaRequest, context: Context
    ) -> pb.Saga:
        """Return the saga, or fence its id so that it never starts."""
        record = await _or_abort(context, self.coordinator.fence(request.saga_id, request.user_id))
        return saga_to_proto(SagaView(record, self.coordinator.current_step(record)))

    async def _run(
        self, saga_type: str, saga_id: str, data: dict[str, Any], context: Context
    ) -> pb.Saga:
        await _or_abort(context, self.coordinator.start(saga_type, saga_id, data))
        remaining = context.time_remaining()
        budget = WAIT_WITHOUT_DEADLINE if remaining is None else remaining - self.wait_margin
        record = await self.coordinator.wait(saga_id, budget)
        return saga_to_proto(SagaView(record, self.coordinator.current_step(record)))

    async def GetSaga(  # noqa: N802
        self, request: pb.GetSagaRequest, context: Context
    ) -> pb.Saga:
        """Return one saga with its history."""
        found = await _or_abort(context, self.coordinator.view(request.saga_id))
        return saga_to_proto(found)

    async def ListSagas(  # noqa: N802
        self, request: pb.ListSagasRequest, context: Context
    ) -> pb.ListSagasResponse:
        """List the most recently updated sagas."""
        status = _status_filter(request.status)
        found = await _or_abort(context, self.coordinator.recent(status, request.page_size))
        return pb.ListSagasResponse(sagas=[saga_to_proto(view) for view in found])


async def _or_abort(context: Context, work: Awaitable[T]) -> T:
    """Await the work, answering a known error with its status from the table."""
    return await awaited_or_abort(context, STATUSES, work)


async def _data_or_abort(
    context: Context, build: Callable[..., dict[str, Any]], *args: Any
) -> dict[str, Any]:
    """Build a saga's data from a request, answering a broken rule with its table status."""
    try:
        return build(*args)
    except Exception as error:
        await abort_if_known(context, STATUSES, error)
        raise


def _status_filter(value: int) -> SagaStatus | None:
    if value == pb.SAGA_STATUS_UNSPECIFIED or value not in pb.SagaStatus.values():
        return None
    return SagaStatus(pb.SagaStatus.Name(value).removeprefix(_STATUS_PREFIX).lower())


def saga_to_proto(view: SagaView) -> pb.Saga:
    """Render a saga and whatever history the view carries."""
    record = view.record
    return pb.Saga(
        saga_id=record.saga_id,
        saga_type=record.saga_type,
        status=_STATUS_PREFIX + record.status.value.upper(),
        current_step=view.current_step,
        attempt=record.attempt,
        next_retry_time=format_time(record.next_retry_at) if record.next_retry_at else "",
        last_error=record.last_error,
        failure_code=record.failure_code,
        user_id=record.data.get("user_id", ""),
        goal_id=record.data.get("goal_id", ""),
        create_time=format_time(record.created_at),
        update_time=format_time(record.updated_at),
        events=[_event_to_proto(event) for event in view.events],
    )


def _event_to_proto(event: SagaEvent) -> pb.SagaEvent:
    return pb.SagaEvent(
        step=event.step,
        phase=event.phase,
        outcome=event.outcome,
        attempt=event.attempt,
        error=event.error,
        time=format_time(event.at),
    )
