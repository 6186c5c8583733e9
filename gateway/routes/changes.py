"""Changes run as sagas: starting one without lying about its outcome, and where it stands.

An answer must not say "failed" when the change may have been accepted. Once the call to
the coordinator was sent, a lost answer (the coordinator died, the deadline passed) is a
202 pointing at ``GET /users/{user_id}/changes/{saga_id}``; only a call that was never
sent (no instance could take it) is a 503. The status route settles an unknown saga for
good with the coordinator's FenceSaga: either the saga exists, or it never will. Only an
id the gateway answered 202 for is fenced: a fresh id is remembered in Redis, for its
user, when its answer is lost, and an Idempotency-Key's id only while the key is claimed.
Any other id is looked up or 404 and writes nothing, so a client cannot fill the saga log
with ids the gateway never gave out, nor fence another user's future id.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, TypeVar

import grpc
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fitness.saga.v1 import saga_service_pb2 as saga_pb

from gateway.edge.auth import require_self_or_admin
from gateway.edge.dependencies import AUTH_ERRORS, Pools, Principal, Upstreams
from gateway.edge.errors import (
    REDIS_OUTAGES,
    UPSTREAM_FAILURE,
    ApiError,
    from_status,
    store_unavailable,
)
from gateway.edge.redis import redis_of
from gateway.routes.fields import PathId
from gateway.routes.schemas import ChangeAccepted, ChangeStatus, ErrorDetail
from services.common.redis import RedisClient
from services.common.upstream import Rpc, SagaRpc, UpstreamError

log = logging.getLogger(__name__)
router = APIRouter(tags=["changes"])

# The saga ids gateway.edge.dependencies.new_request_id issues: a uuid4 in hex, or
# "idem-" and the caller-scoped hash of an Idempotency-Key (gateway.edge.idempotency).
ISSUED_SAGA_ID = re.compile(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}|idem-[0-9a-f]{32}")
KEYED_PREFIX = "idem-"
_STATUS_PREFIX = "SAGA_STATUS_"
FINAL = {"completed", "compensated", "needs_attention", "not_accepted"}


# The requests that start a saga: each names its saga (request_id) and its user.
SagaStart = TypeVar(
    "SagaStart",
    saga_pb.CreateGoalRequest,
    saga_pb.UpdateGoalRequest,
    saga_pb.DeleteGoalRequest,
    saga_pb.DeleteUserRequest,
)
# How long the status route may settle a lost change: as long as a keyed one's record.
LOST_KEEP_SECONDS = 24 * 3600


class LostChanges:
    """The fresh saga ids whose start answer was lost, and whose they are (in Redis)."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def remember(self, saga_id: str, user_id: str) -> None:
        """Note a lost change so its status route may fence it; an outage only logs."""
        try:
            await self._redis.set(f"lost-change:{saga_id}", user_id, ex=LOST_KEEP_SECONDS)
        except REDIS_OUTAGES as error:  # the 202 stands; its route can only look, not fence
            log.warning(
                "lost change not remembered", extra={"saga_id": saga_id, "error": str(error)}
            )

    async def issued_to(self, saga_id: str) -> str | None:
        """Whose lost change this is, if the gateway answered 202 for it."""
        try:
            owner = await self._redis.get(f"lost-change:{saga_id}")
        except REDIS_OUTAGES as error:
            raise store_unavailable(error) from error
        return str(owner) if owner is not None else None


def lost_changes(request: Request) -> LostChanges:
    """The app's record of lost changes."""
    return LostChanges(redis_of(request))


Lost = Annotated[LostChanges, Depends(lost_changes)]


async def start_saga(
    pools: Upstreams, rpc: Rpc[SagaStart, saga_pb.Saga], request: SagaStart, lost: LostChanges
) -> saga_pb.Saga | None:
    """Start a saga and return it; None when the call may have reached the coordinator
    but its answer was lost, so the outcome is unknown (the caller answers 202).

    Only an error the client says had no effect is passed on: a call never sent (503), or
    one the coordinator refused itself (the saga certainly did not start).
    """
    try:
        saga = await pools.sagas.call(rpc, request)
    except UpstreamError as error:
        if not error.may_have_had_effect:
            raise
        where = {"rpc": rpc.name, "code": error.code.name, "error": str(error)}
        log.warning("saga start answer lost", extra=where)
    else:
        return saga
    saga_id = request.request_id
    if not saga_id.startswith(KEYED_PREFIX):  # a keyed one is remembered by its key's record
        await lost.remember(saga_id, request.user_id)
    return None


def change_url(user_id: str, saga_id: str) -> str:
    """Where the outcome of a change is told."""
    return f"/users/{user_id}/changes/{saga_id}"


def goal_url(user_id: str, goal_id: str) -> str | None:
    """The goal's own resource, when the goal is known."""
    return f"/users/{user_id}/goals/{goal_id}" if goal_id else None


def accepted(
    user_id: str, saga_id: str, status: str = "unknown", goal_id: str = ""
) -> JSONResponse:
    """202: the change is (or may be) under way; Location tells its outcome."""
    url = change_url(user_id, saga_id)
    body = ChangeAccepted(
        saga_id=saga_id,
        status=status,
        change_url=url,
        goal_id=goal_id or None,
        goal_url=goal_url(user_id, goal_id),
    )
    return JSONResponse(body.model_dump(), status_code=202, headers={"Location": url})


def accepted_saga(saga: saga_pb.Saga, user_id: str) -> JSONResponse:
    """202 for a saga the coordinator returned before it finished."""
    return accepted(user_id, saga.saga_id, status_name(saga), saga.goal_id)


def status_name(saga: saga_pb.Saga) -> str:
    """The lower-case status, e.g. 'running'."""
    return saga_pb.SagaStatus.Name(saga.status).removeprefix(_STATUS_PREFIX).lower()


def saga_failure(saga: saga_pb.Saga) -> ApiError:
    """The client's error for a saga that was undone, from the step failure that undid it."""
    if saga.status == saga_pb.SAGA_STATUS_NEEDS_ATTENTION:
        message = f"the change could not be completed or undone (saga {saga.saga_id})"
        return ApiError(UPSTREAM_FAILURE, message)
    if saga.status == saga_pb.SAGA_STATUS_NOT_ACCEPTED:
        return ApiError(503, "the change was not accepted; send it again", "UNAVAILABLE")
    code = grpc.StatusCode.__members__.get(saga.failure_code, grpc.StatusCode.UNKNOWN)
    return from_status(code, saga.last_error.removeprefix(f"{saga.failure_code}: "))


@router.get(
    "/users/{user_id}/changes/{saga_id}", response_model=ChangeStatus, responses=AUTH_ERRORS
)
async def get_change(
    user_id: PathId,
    saga_id: PathId,
    principal: Principal,
    pools: Pools,
    request: Request,
    lost: Lost,
) -> ChangeStatus:
    """Where a change stands (the Location of a 202): running, or its final outcome."""
    require_self_or_admin(user_id, principal)
    if not ISSUED_SAGA_ID.fullmatch(saga_id):
        raise ApiError(404, f"change {saga_id} not found")
    saga: saga_pb.Saga
    if await _may_fence(request, saga_id, user_id, lost):
        fence = saga_pb.FenceSagaRequest(saga_id=saga_id, user_id=user_id)
        saga = await pools.sagas.call(SagaRpc.FenceSaga, fence)
    else:  # only look: NOT_FOUND is a 404
        saga = await pools.sagas.call(SagaRpc.GetSaga, saga_pb.GetSagaRequest(saga_id=saga_id))
    if saga.user_id != user_id:
        raise ApiError(404, f"change {saga_id} not found")
    return change_status(saga, user_id)


async def _may_fence(request: Request, saga_id: str, user_id: str, lost: LostChanges) -> bool:
    """A fresh id only if the gateway answered 202 for it, to this user; a keyed id only
    while its key is claimed.

    The keyed id is the caller-scoped hash of an Idempotency-Key, which the idempotency
    middleware keeps as ``idempotency:<hash>`` for 24 hours; without that record nobody
    sent the request, so another user who guesses a key cannot fence its future id.
    """
    if not saga_id.startswith(KEYED_PREFIX):
        return await lost.issued_to(saga_id) == user_id
    redis = redis_of(request)
    try:
        return bool(await redis.exists(f"idempotency:{saga_id.removeprefix(KEYED_PREFIX)}"))
    except REDIS_OUTAGES as error:
        raise store_unavailable(error) from error


def change_status(saga: saga_pb.Saga, user_id: str) -> ChangeStatus:
    """Render a saga as a change's status."""
    status = status_name(saga)
    error = None
    if status in FINAL and status != "completed":
        failure = saga_failure(saga)
        error = ErrorDetail(
            code=failure.http_status, status=failure.status, message=failure.message
        )
    return ChangeStatus(
        saga_id=saga.saga_id,
        kind=saga.saga_type,
        status=status,  # type: ignore[arg-type]
        done=status in FINAL,
        applied=status == "completed",
        goal_id=saga.goal_id or None,
        goal_url=goal_url(user_id, saga.goal_id),
        error=error,
    )
