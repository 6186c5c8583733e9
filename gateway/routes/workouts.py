"""REST routes for workout sessions and statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fitness.activity.v1 import activity_service_pb2 as pb

from gateway.edge.auth import require_self
from gateway.edge.dependencies import (
    AUTH_ERRORS,
    AUTH_STATUSES,
    Caller,
    Creator,
    Pools,
    errors,
    new_request_id,
)
from gateway.routes.cached import Cache
from gateway.routes.fields import PageToken, PathId
from gateway.routes.schemas import (
    EndWorkoutRequest,
    StartWorkoutRequest,
    StartWorkoutResponse,
    StatisticsResponse,
    WorkoutPage,
    WorkoutResponse,
    WorkoutTypeResponse,
)
from services.common.cache import ALL_WORKOUT_TYPES, STATISTICS, WORKOUT_TYPES, user_entity
from services.common.upstream import ActivityRpc

router = APIRouter(tags=["workouts"])


@router.post(
    "/workouts/start",
    status_code=201,
    response_model=StartWorkoutResponse,
    responses=errors(400, *AUTH_STATUSES),
)
async def start_workout(
    body: StartWorkoutRequest, caller: Creator, pools: Pools
) -> StartWorkoutResponse:
    """Start a workout session for yourself."""
    user_id = body.user_id or caller
    require_self(user_id, caller)
    request = pb.StartWorkoutSessionRequest(
        request_id=new_request_id(), user_id=user_id, workout_type=body.workout_type
    )
    session = (await pools.activity.call(ActivityRpc.StartWorkoutSession, request)).session
    return StartWorkoutResponse(
        session_id=session.session_id,
        start_time=session.start_time,
        user_id=session.user_id,
        workout_type=session.workout_type,
    )


@router.post(
    "/workouts/{session_id}/end",
    response_model=WorkoutResponse,
    responses=errors(400, 409, *AUTH_STATUSES),
)
async def end_workout(
    session_id: PathId,
    caller: Caller,
    pools: Pools,
    body: EndWorkoutRequest | None = None,
) -> WorkoutResponse:
    """End your running session; duration is in seconds, calories in kcal.

    The activity service counts it toward your goals and sends the goal-achieved alerts
    (its progress relay), also when the user service is down at this moment.
    """
    request = pb.EndWorkoutSessionRequest(
        request_id=new_request_id(),
        session_id=session_id,
        user_id=caller,
        end_time=(body.end_time if body else None) or "",
    )
    reply = await pools.activity.call(ActivityRpc.EndWorkoutSession, request)
    return workout_response(reply.session)


@router.get(
    "/users/{user_id}/workouts", response_model=WorkoutPage, responses=errors(400, *AUTH_STATUSES)
)
async def list_workouts(
    user_id: PathId,
    caller: Caller,
    pools: Pools,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    page_token: PageToken = "",
) -> WorkoutPage:
    """List your sessions, newest first; pass next_page_token as page_token for more."""
    require_self(user_id, caller)
    request = pb.ListWorkoutSessionsRequest(
        user_id=user_id, page_size=page_size, page_token=page_token
    )
    reply = await pools.activity.call(ActivityRpc.ListWorkoutSessions, request)
    return WorkoutPage(
        workouts=[workout_response(s) for s in reply.sessions],
        next_page_token=reply.next_page_token,
    )


@router.get("/users/{user_id}/statistics", response_model=StatisticsResponse, responses=AUTH_ERRORS)
async def statistics(
    user_id: PathId, caller: Caller, pools: Pools, cache: Cache
) -> StatisticsResponse:
    """Your lifetime totals; durations in seconds."""
    require_self(user_id, caller)

    async def load() -> pb.GetUserStatisticsResponse:
        request = pb.GetUserStatisticsRequest(user_id=user_id)
        return await pools.activity.call(ActivityRpc.GetUserStatistics, request)

    # The activity service invalidates it when it writes this user's workouts.
    reply = await cache.read(STATISTICS, user_entity(user_id), load)
    return StatisticsResponse(
        total_workouts=reply.total_workouts,
        total_duration=reply.total_duration,
        total_calories_burned=reply.total_calories_burned,
        average_session_duration=reply.average_session_duration,
    )


@router.get("/workout-types", response_model=list[WorkoutTypeResponse], responses=errors(401, 503))
async def workout_types(_caller: Caller, pools: Pools, cache: Cache) -> list[WorkoutTypeResponse]:
    """The workout types sessions may use, with their MET values."""

    async def load() -> pb.ListWorkoutTypesResponse:
        return await pools.activity.call(ActivityRpc.ListWorkoutTypes, pb.ListWorkoutTypesRequest())

    reply = await cache.read(WORKOUT_TYPES, ALL_WORKOUT_TYPES, load)
    return [
        WorkoutTypeResponse(name=t.name, met=t.met, description=t.description)
        for t in reply.workout_types
    ]


def workout_response(session: pb.WorkoutSession) -> WorkoutResponse:
    """Render a session."""
    return WorkoutResponse(
        session_id=session.session_id,
        user_id=session.user_id,
        workout_type=session.workout_type,
        start_time=session.start_time,
        end_time=session.end_time or None,
        duration=session.duration,
        calories_burned=session.calories_burned,
    )
