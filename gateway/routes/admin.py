"""Admin routes: saga inspection (GET /admin/sagas, GET /admin/sagas/{saga_id})."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fitness.saga.v1 import saga_service_pb2 as pb
from pydantic import BaseModel

from gateway.edge.dependencies import Admin, Pools, errors
from gateway.routes.fields import PathId
from services.common.upstream import SagaRpc

router = APIRouter(tags=["admin"])
SagaStatusName = Literal[
    "running", "compensating", "completed", "compensated", "needs_attention", "not_accepted"
]


class SagaEventResponse(BaseModel):
    """One entry of a saga's history."""

    step: str
    phase: str
    outcome: str
    attempt: int
    error: str | None
    time: str


class SagaResponse(BaseModel):
    """A saga: where it stands, what it is doing, what went wrong."""

    saga_id: str
    saga_type: str
    status: SagaStatusName
    current_step: str | None
    attempt: int
    next_retry_at: str | None
    last_error: str | None
    failure_code: str | None
    user_id: str
    goal_id: str
    created_at: str
    updated_at: str
    events: list[SagaEventResponse] | None = None


class SagaList(BaseModel):
    """Sagas, most recently updated first."""

    sagas: list[SagaResponse]


@router.get("/admin/sagas", response_model=SagaList, responses=errors(401, 403, 422, 503))
async def list_sagas(
    _admin: Admin,
    pools: Pools,
    status: SagaStatusName | None = None,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SagaList:
    """Recent sagas, optionally of one status (e.g. needs_attention)."""
    wanted = f"SAGA_STATUS_{(status or 'unspecified').upper()}"
    request = pb.ListSagasRequest(status=wanted, page_size=page_size)
    reply = await pools.sagas.call(SagaRpc.ListSagas, request)
    return SagaList(sagas=[saga_response(saga) for saga in reply.sagas])


@router.get(
    "/admin/sagas/{saga_id}", response_model=SagaResponse, responses=errors(401, 403, 404, 503)
)
async def get_saga(saga_id: PathId, _admin: Admin, pools: Pools) -> SagaResponse:
    """One saga with its step history."""
    reply = await pools.sagas.call(SagaRpc.GetSaga, pb.GetSagaRequest(saga_id=saga_id))
    return saga_response(reply, with_events=True)


def saga_response(saga: pb.Saga, with_events: bool = False) -> SagaResponse:
    """Render a saga, empty strings as nulls."""
    events = [
        SagaEventResponse(
            step=e.step,
            phase=e.phase,
            outcome=e.outcome,
            attempt=e.attempt,
            error=e.error or None,
            time=e.time,
        )
        for e in saga.events
    ]
    return SagaResponse(
        saga_id=saga.saga_id,
        saga_type=saga.saga_type,
        status=pb.SagaStatus.Name(saga.status).removeprefix("SAGA_STATUS_").lower(),  # type: ignore[arg-type]
        current_step=saga.current_step or None,
        attempt=saga.attempt,
        next_retry_at=saga.next_retry_time or None,
        last_error=saga.last_error or None,
        failure_code=saga.failure_code or None,
        user_id=saga.user_id,
        goal_id=saga.goal_id,
        created_at=saga.create_time,
        updated_at=saga.update_time,
        events=events if with_events else None,
    )
