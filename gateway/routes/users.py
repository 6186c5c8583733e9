"""REST routes for accounts and profiles."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

import grpc
from fastapi import APIRouter, Request, Response
from fitness.user.v1 import user_service_pb2 as pb

from gateway.edge.auth import require_self
from gateway.edge.dependencies import (
    AUTH_ERRORS,
    AUTH_STATUSES,
    Caller,
    Pools,
    Throttle,
    errors,
    new_request_id,
)
from gateway.edge.errors import REDIS_OUTAGES
from gateway.routes.cached import Cache
from gateway.routes.fields import PathId
from gateway.routes.schemas import (
    LoginRequest,
    LoginResponse,
    ProfilePatch,
    RefreshTokenBody,
    RegisterRequest,
    RegisterResponse,
    UserResponse,
)
from services.common.cache import PROFILE, user_entity
from services.common.upstream import RpcFailed, UserRpc

router = APIRouter(tags=["users"])
log = logging.getLogger(__name__)


@router.post(
    "/users/register",
    status_code=201,
    response_model=RegisterResponse,
    responses=errors(400, 409, 422, 429, 503),
)
async def register(
    body: RegisterRequest, request: Request, pools: Pools, throttle: Throttle
) -> RegisterResponse:
    """Create an account; profile fields are optional.

    Each client address may try a limited number of registrations per window (429).
    """
    await throttle.check_registration(client_address(request))
    profile = pb.Profile(display_name=body.display_name or "")
    for name in ("weight_kg", "height_cm", "birth_year"):
        if getattr(body, name) is not None:
            setattr(profile, name, getattr(body, name))
    message = pb.RegisterUserRequest(
        request_id=new_request_id(),
        username=body.username,
        email=body.email,
        password=body.password,
        profile=profile,
    )
    reply = await pools.users.call(UserRpc.RegisterUser, message)
    return RegisterResponse(
        user_id=reply.user.user_id, username=reply.user.username, email=reply.user.email
    )


def client_address(request: Request) -> str:
    """The client's address as uvicorn saw it (proxies are believed only when trusted)."""
    return request.client.host if request.client else "unknown"


async def quietly(bookkeeping: Awaitable[None]) -> None:
    """Run throttle bookkeeping whose loss in a Redis outage must not fail the request."""
    try:
        await bookkeeping
    except REDIS_OUTAGES as error:
        log.warning("login throttle bookkeeping lost in a Redis outage: %r", error)


# Tokens must not be kept by browsers or proxies (RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post("/users/login", response_model=LoginResponse, responses=errors(401, 422, 429, 503))
async def login(
    body: LoginRequest, request: Request, response: Response, pools: Pools, throttle: Throttle
) -> LoginResponse:
    """Exchange email and password for a bearer token and a refresh token.

    Repeated failures lock the email and the client address for a growing time (429).
    """
    address = client_address(request)
    await throttle.check(body.email, address)
    try:
        reply = await pools.users.call(
            UserRpc.Login, pb.LoginRequest(email=body.email, password=body.password)
        )
    except Exception as error:
        judged = isinstance(error, RpcFailed) and error.code is grpc.StatusCode.UNAUTHENTICATED
        if not judged:
            await quietly(throttle.not_judged(body.email, address))
        raise
    # The tokens exist now: a Redis hiccup must not turn them into a 503 and lose them.
    await quietly(throttle.succeeded(body.email, address))
    return token_response(reply, response)


@router.post(
    "/users/token/refresh", response_model=LoginResponse, responses=errors(401, 422, 429, 503)
)
async def refresh_token(body: RefreshTokenBody, response: Response, pools: Pools) -> LoginResponse:
    """Exchange a refresh token for a new bearer token and a new refresh token.

    Each refresh token works once; presenting a used one again ends its login everywhere.
    """
    reply = await pools.users.call(
        UserRpc.RefreshToken, pb.RefreshTokenRequest(refresh_token=body.refresh_token)
    )
    return token_response(reply, response)


@router.post("/users/logout", status_code=204, responses=errors(401, 422, 503))
async def logout(body: RefreshTokenBody, pools: Pools) -> Response:
    """End the login the refresh token belongs to (its access tokens expire on their own)."""
    await pools.users.call(UserRpc.Logout, pb.LogoutRequest(refresh_token=body.refresh_token))
    return Response(status_code=204, headers=NO_STORE)


def token_response(reply: pb.LoginResponse, response: Response) -> LoginResponse:
    """Render the tokens of a login or refresh, marked not to be cached."""
    response.headers.update(NO_STORE)
    return LoginResponse(
        token=reply.token,
        user_id=reply.user_id,
        expires_in=reply.expires_in,
        refresh_token=reply.refresh_token,
        refresh_expires_in=reply.refresh_expires_in,
    )


@router.get("/users/{user_id}", response_model=UserResponse, responses=AUTH_ERRORS)
async def get_user(user_id: PathId, caller: Caller, pools: Pools, cache: Cache) -> UserResponse:
    """Return your own account and profile."""
    require_self(user_id, caller)

    async def load() -> pb.User:
        return (await pools.users.call(UserRpc.GetUser, pb.GetUserRequest(user_id=user_id))).user

    # Shared with the activity service's weight lookup; the user service invalidates it.
    return user_response(await cache.read(PROFILE, user_entity(user_id), load))


@router.patch(
    "/users/{user_id}", response_model=UserResponse, responses=errors(400, *AUTH_STATUSES)
)
async def update_profile(
    user_id: PathId, body: ProfilePatch, caller: Caller, pools: Pools
) -> UserResponse:
    """Change display name, weight, height or birth year; other fields are refused."""
    require_self(user_id, caller)
    request = pb.UpdateProfileRequest(
        request_id=new_request_id(), user_id=user_id, **body.changes()
    )
    reply = await pools.users.call(UserRpc.UpdateProfile, request)
    return user_response(reply.user)


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
