"""REST routes for goals (changed through the saga coordinator) and weekly suggestions."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from fitness.activity.v1 import activity_service_pb2 as activity_pb
from fitness.saga.v1 import saga_service_pb2 as saga_pb
from fitness.user.v1 import user_service_pb2 as user_pb

from gateway.edge.auth import require_self
from gateway.edge.dependencies import (
    AUTH_ERRORS,
    AUTH_STATUSES,
    Caller,
    Creator,
    Pools,
    Upstreams,
    errors,
    new_request_id,
)
from gateway.edge.errors import ApiError
from gateway.routes.changes import Lost, accepted, accepted_saga, saga_failure, start_saga
from gateway.routes.fields import PathId
from gateway.routes.schemas import (
    ChangeAccepted,
    GoalList,
    GoalPatch,
    GoalRequest,
    GoalResponse,
    PendingChange,
    SuggestionList,
    SuggestionResponse,
)
from services.common.goal_types import GoalType
from services.common.upstream import ActivityRpc, SagaRpc, UpstreamError, UserRpc

log = logging.getLogger(__name__)
router = APIRouter(tags=["goals"])
CHANGE_ERRORS = {**errors(400, 409, 502, *AUTH_STATUSES), 202: {"model": ChangeAccepted}}


@router.post(
    "/users/{user_id}/goals", status_code=201, response_model=GoalResponse, responses=CHANGE_ERRORS
)
async def create_goal(
    user_id: PathId, body: GoalRequest, caller: Creator, pools: Pools, lost: Lost
) -> Any:
    """Set a new goal; 202 if it is still being set up when the deadline nears."""
    require_self(user_id, caller)
    request = saga_pb.CreateGoalRequest(
        request_id=new_request_id(),
        user_id=user_id,
        goal_type=body.goal_type.to_proto(),
        target_value=body.target_value,
        target_date=body.target_date,
    )
    saga = await start_saga(pools, SagaRpc.CreateGoal, request, lost)
    if saga is None:
        return accepted(user_id, request.request_id)
    return await _outcome(saga, pools, 201)


@router.patch(
    "/users/{user_id}/goals/{goal_id}", response_model=GoalResponse, responses=CHANGE_ERRORS
)
async def update_goal(
    user_id: PathId, goal_id: PathId, body: GoalPatch, caller: Caller, pools: Pools, lost: Lost
) -> Any:
    """Change a goal's target value or date; 409 with Retry-After while another change runs."""
    require_self(user_id, caller)
    current = await _goal(pools, user_id, goal_id)
    request = saga_pb.UpdateGoalRequest(
        request_id=new_request_id(),
        user_id=user_id,
        goal_id=goal_id,
        target_value=current.target_value if body.target_value is None else body.target_value,
        target_date=current.target_date if body.target_date is None else body.target_date,
    )
    saga = await start_saga(pools, SagaRpc.UpdateGoal, request, lost)
    if saga is None:
        return accepted(user_id, request.request_id, goal_id=goal_id)
    return await _outcome(saga, pools, 200)


@router.delete(
    "/users/{user_id}/goals/{goal_id}",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses=CHANGE_ERRORS,
)
async def delete_goal(
    user_id: PathId, goal_id: PathId, caller: Caller, pools: Pools, lost: Lost
) -> Any:
    """Delete a goal and its suggestions."""
    require_self(user_id, caller)
    request = saga_pb.DeleteGoalRequest(
        request_id=new_request_id(), user_id=user_id, goal_id=goal_id
    )
    saga = await start_saga(pools, SagaRpc.DeleteGoal, request, lost)
    if saga is None:
        return accepted(user_id, request.request_id, goal_id=goal_id)
    return await _outcome(saga, pools, 204)


@router.get("/users/{user_id}/goals", response_model=GoalList, responses=AUTH_ERRORS)
async def list_goals(user_id: PathId, caller: Caller, pools: Pools) -> GoalList:
    """List your goals, newest first."""
    require_self(user_id, caller)
    reply = await pools.users.call(UserRpc.ListGoals, user_pb.ListGoalsRequest(user_id=user_id))
    return GoalList(goals=[goal_response(goal) for goal in reply.goals])


@router.get("/users/{user_id}/goals/{goal_id}", response_model=GoalResponse, responses=AUTH_ERRORS)
async def get_goal(user_id: PathId, goal_id: PathId, caller: Caller, pools: Pools) -> GoalResponse:
    """Return one of your goals (GetUserGoal)."""
    require_self(user_id, caller)
    return goal_response(await _goal(pools, user_id, goal_id))


@router.get("/users/{user_id}/suggestions", response_model=SuggestionList, responses=AUTH_ERRORS)
async def suggestions(user_id: PathId, caller: Caller, pools: Pools) -> SuggestionList:
    """Your weekly plan: sessions and minutes this week to reach each active goal in time."""
    require_self(user_id, caller)
    reply = await pools.activity.call(
        ActivityRpc.GetSuggestions, activity_pb.GetSuggestionsRequest(user_id=user_id)
    )
    return SuggestionList(suggestions=[_suggestion(s) for s in reply.suggestions])


async def _goal(pools: Upstreams, user_id: str, goal_id: str) -> user_pb.Goal:
    request = user_pb.GetUserGoalRequest(user_id=user_id, goal_id=goal_id)
    reply: user_pb.GetUserGoalResponse = await pools.users.call(UserRpc.GetUserGoal, request)
    return reply.goal


async def _outcome(saga: saga_pb.Saga, pools: Upstreams, success_status: int) -> Any:
    """Answer for a saga: its result, 202 while it runs, or the error that undid it."""
    if saga.status == saga_pb.SAGA_STATUS_COMPLETED:
        if success_status == 204:
            return Response(status_code=204)
        try:
            goal = goal_response(await _goal(pools, saga.user_id, saga.goal_id))
        except UpstreamError:
            # Applied, but the goal cannot be read back now: not a failure, a 202.
            return accepted_saga(saga, saga.user_id)
        return JSONResponse(goal.model_dump(), status_code=success_status)
    if saga.status in (saga_pb.SAGA_STATUS_COMPENSATED, saga_pb.SAGA_STATUS_NEEDS_ATTENTION):
        raise saga_failure(saga)
    return accepted_saga(saga, saga.user_id)


def goal_response(goal: user_pb.Goal) -> GoalResponse:
    """Render a goal with lower-case goal_type and status names."""
    pending = None
    if goal.pending_operation != user_pb.GOAL_OPERATION_UNSPECIFIED:
        operation = user_pb.GoalOperation.Name(goal.pending_operation)
        pending = PendingChange(
            operation=operation.removeprefix("GOAL_OPERATION_").lower(),  # type: ignore[arg-type]
            saga_id=goal.pending_saga_id,
        )
    return GoalResponse(
        goal_id=goal.goal_id,
        goal_type=_goal_type(goal.goal_type),
        target_value=goal.target_value,
        target_date=goal.target_date,
        current_progress=round(goal.current_progress, 2),
        status=user_pb.GoalStatus.Name(goal.status).removeprefix("GOAL_STATUS_").lower(),  # type: ignore[arg-type]
        created_at=goal.create_time,
        achieved_at=goal.achieve_time or None,
        pending=pending,
    )


def _goal_type(value: int) -> GoalType:
    """A goal type from a service's reply; one this gateway does not know yet (a newer
    service during a rolling upgrade) is the upstream's answer we cannot render: 502."""
    try:
        return GoalType.of_proto(value)
    except ValueError:
        log.error("upstream sent an unknown goal type", extra={"goal_type": value})
        message = "an upstream service answered a goal type this gateway does not know"
        raise ApiError(502, message) from None


def _suggestion(found: activity_pb.Suggestion) -> SuggestionResponse:
    return SuggestionResponse(
        goal_id=found.goal_id,
        goal_type=_goal_type(found.goal_type),
        target_value=found.target_value,
        target_date=found.target_date,
        progress=found.progress,
        remaining=found.remaining,
        weeks_left=found.weeks_left,
        sessions_per_week=found.sessions_per_week,
        minutes_per_session=found.minutes_per_session,
        weekly_target=found.weekly_target,
    )
