"""DELETE /users/{user_id}: the account and its data in every service, as a saga."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from fastapi import APIRouter, Response
from fitness.saga.v1 import saga_service_pb2 as saga_pb
from fitness.user.v1 import user_service_pb2 as user_pb

from gateway.edge.auth import require_self_or_admin
from gateway.edge.dependencies import (
    AUTH_STATUSES,
    Pools,
    Principal,
    Upstreams,
    errors,
    new_request_id,
)
from gateway.edge.errors import ApiError
from gateway.routes.changes import Lost, accepted, accepted_saga, saga_failure, start_saga
from gateway.routes.fields import PathId
from gateway.routes.schemas import ChangeAccepted
from services.common.upstream import SagaRpc, UpstreamError, UserRpc

log = logging.getLogger(__name__)
router = APIRouter(tags=["users"])
GONE = "this account no longer exists"


@router.delete(
    "/users/{user_id}",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses={**errors(502, *AUTH_STATUSES), 202: {"model": ChangeAccepted}},
)
async def delete_user(user_id: PathId, principal: Principal, pools: Pools, lost: Lost) -> Any:
    """Delete an account (your own, or any as an admin) with its goals, workouts and alerts."""
    require_self_or_admin(user_id, principal)
    request = saga_pb.DeleteUserRequest(request_id=new_request_id(), user_id=user_id)
    saga = await start_saga(pools, SagaRpc.DeleteUser, request, lost)
    if saga is None:
        return accepted(user_id, request.request_id)
    if saga.status == saga_pb.SAGA_STATUS_COMPLETED:
        return Response(status_code=204)
    if saga.status in (saga_pb.SAGA_STATUS_COMPENSATED, saga_pb.SAGA_STATUS_NEEDS_ATTENTION):
        raise saga_failure(saga)
    return accepted_saga(saga, user_id)


async def account_exists(pools: Upstreams, user_id: str) -> bool:
    """Whether the user service still knows the user (a token outlives its account).

    Only a NOT_FOUND says no: while the user service cannot answer, live sessions stay
    usable (the activity service refuses unknown users' workouts itself).
    """
    try:
        await pools.users.call(UserRpc.GetUser, user_pb.GetUserRequest(user_id=user_id))
    except UpstreamError as error:
        if error.code == grpc.StatusCode.NOT_FOUND:
            return False
        log.warning("account check skipped", extra={"code": error.code.name, "error": str(error)})
    return True


async def require_account(pools: Upstreams, user_id: str) -> None:
    """Refuse with 401 a token whose account was deleted."""
    if not await account_exists(pools, user_id):
        raise ApiError(401, GONE, headers={"WWW-Authenticate": 'Bearer realm="fitness"'})
