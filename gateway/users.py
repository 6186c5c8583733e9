"""REST routes for accounts, profiles and goals."""

from __future__ import annotations

from fastapi import APIRouter
from fitness.user.v1 import user_service_pb2 as pb

from gateway.auth import require_self
from gateway.dependencies import AUTH_ERRORS, AUTH_STATUSES, Caller, Pools, errors, new_request_id
from gateway.schemas import (
    GoalList,
    GoalRequest,
    GoalResponse,
    LoginRequest,
    LoginResponse,
    ProfilePatch,
    RegisterRequest,
    RegisterResponse,
    UserResponse,
)

router = APIRouter(tags=["users"])
GOAL_TYPE_PREFIX = "GOAL_TYPE_"


@router.post(
    "/users/register",
    status_code=201,
    response_model=RegisterResponse,
    responses=errors(400, 409, 422, 503),
)
async def register(body: RegisterRequest, pools: Pools) -> RegisterResponse:
    """Create an account; profile fields are optional."""
    profile = pb.Profile(display_name=body.display_name or "")
    for name in ("weight_kg", "height_cm", "birth_year"):
        if getattr(body, name) is not None:
            setattr(profile, name, getattr(body, name))
    request = pb.RegisterUserRequest(
        request_id=new_request_id(),
        username=body.username,
        email=body.email,
        password=body.password,
        profile=profile,
    )
    reply = await pools.users.call("RegisterUser", request)
    return RegisterResponse(
        user_id=reply.user.user_id, username=reply.user.username, email=reply.user.email
    )


@router.post("/users/login", response_model=LoginResponse, responses=errors(401, 422, 429, 503))
async def login(body: LoginRequest, pools: Pools) -> LoginResponse:
    """Exchange email and password for a bearer token."""
    reply = await pools.users.call(
        "Login", pb.LoginRequest(email=body.email, password=body.password)
    )
    return LoginResponse(token=reply.token, user_id=reply.user_id, expires_in=reply.expires_in)


@router.get("/users/{user_id}", response_model=UserResponse, responses=AUTH_ERRORS)
async def get_user(user_id: str, caller: Caller, pools: Pools) -> UserResponse:
    """Return your own account and profile."""
    require_self(user_id, caller)
    reply = await pools.users.call("GetUser", pb.GetUserRequest(user_id=user_id))
    return user_response(reply.user)


@router.patch(
    "/users/{user_id}", response_model=UserResponse, responses=errors(400, *AUTH_STATUSES)
)
async def update_profile(
    user_id: str, body: ProfilePatch, caller: Caller, pools: Pools
) -> UserResponse:
    """Change display name, weight, height or birth year; other fields are refused."""
    require_self(user_id, caller)
    request = pb.UpdateProfileRequest(
        request_id=new_request_id(), user_id=user_id, **body.changes()
    )
    reply = await pools.users.call("UpdateProfile", request)
    return user_response(reply.user)


@router.post(
    "/users/{user_id}/goals",
    status_code=201,
    response_model=GoalResponse,
    responses=errors(400, *AUTH_STATUSES),
)
async def create_goal(
    user_id: str, body: GoalRequest, caller: Caller, pools: Pools
) -> GoalResponse:
    """Set a new goal."""
    require_self(user_id, caller)
    request = pb.CreateGoalRequest(
        request_id=new_request_id(),
        user_id=user_id,
        goal_type=GOAL_TYPE_PREFIX + body.goal_type.upper(),
        target_value=body.target_value,
        target_date=body.target_date,
    )
    reply = await pools.users.call("CreateGoal", request)
    return goal_response(reply.goal)


@router.get("/users/{user_id}/goals", response_model=GoalList, responses=AUTH_ERRORS)
async def list_goals(user_id: str, caller: Caller, pools: Pools) -> GoalList:
    """List your goals, newest first."""
    require_self(user_id, caller)
    reply = await pools.users.call("ListGoals", pb.ListGoalsRequest(user_id=user_id))
    return GoalList(goals=[goal_response(goal) for goal in reply.goals])


@router.get("/users/{user_id}/goals/{goal_id}", response_model=GoalResponse, responses=AUTH_ERRORS)
async def get_goal(user_id: str, goal_id: str, caller: Caller, pools: Pools) -> GoalResponse:
    """Return one of your goals (GetUserGoal)."""
    require_self(user_id, caller)
    reply = await pools.users.call(
        "GetUserGoal", pb.GetUserGoalRequest(user_id=user_id, goal_id=goal_id)
    )
    return goal_response(reply.goal)


def user_response(user: pb.User) -> UserResponse:
    """Render a user."""
    profile = user.profile
    return UserResponse(
        user_id=user.user_id,
        username=user.username,
        email=user.email,
        display_name=profile.display_name,
        weight_kg=profile.weight_kg if profile.HasField("weight_kg") else None,
        height_cm=profile.height_cm if profile.HasField("height_cm") else None,
        birth_year=profile.birth_year if profile.HasField("birth_year") else None,
        created_at=user.create_time,
    )


def goal_response(goal: pb.Goal) -> GoalResponse:
    """Render a goal with lower-case goal_type and status names."""
    return GoalResponse(
        goal_id=goal.goal_id,
        goal_type=pb.GoalType.Name(goal.goal_type).removeprefix(GOAL_TYPE_PREFIX).lower(),  # type: ignore[arg-type]
        target_value=goal.target_value,
        target_date=goal.target_date,
        current_progress=goal.current_progress,
        status=pb.GoalStatus.Name(goal.status).removeprefix("GOAL_STATUS_").lower(),
        created_at=goal.create_time,
    )
