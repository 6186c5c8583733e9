"""RefreshToken and Logout called over gRPC, as the gateway does, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import grpc
import pytest
from fitness.user.v1 import user_service_pb2 as upb
from fitness.user.v1 import user_service_pb2_grpc as ugrpc

from services.common.trust import GATEWAY, USER
from tests.helpers import (
    KeyFiles,
    ServiceCerts,
    address,
    channel_as,
    grant_role,
    start_user_server,
)


@pytest.fixture
async def users(
    jwt_keys: KeyFiles, service_certs: ServiceCerts, database_url: str
) -> AsyncIterator[ugrpc.UserServiceStub]:
    """A user service on a fresh database, called as the gateway."""
    server = await start_user_server(database_url, jwt_keys, certs=service_certs)
    async with channel_as(service_certs, GATEWAY, USER, address(server)) as channel:
        yield ugrpc.UserServiceStub(channel)
    await server.stop(grace=0)


async def code_of(call: object) -> grpc.StatusCode:
    """The status code a call ends with."""
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call  # type: ignore[misc]
    return failure.value.code()


async def log_in(users: ugrpc.UserServiceStub, name: str = "alice") -> upb.LoginResponse:
    email = f"{name}@example.com"
    await users.RegisterUser(
        upb.RegisterUserRequest(
            request_id=name, username=name, email=email, password="long-password"
        )
    )
    return await users.Login(upb.LoginRequest(email=email, password="long-password"))


def refresh(token: str) -> upb.RefreshTokenRequest:
    return upb.RefreshTokenRequest(refresh_token=token)


async def test_login_answers_a_15_minute_access_token_and_a_refresh_token(
    users: ugrpc.UserServiceStub,
) -> None:
    login = await log_in(users)
    assert login.expires_in == 900
    assert len(login.refresh_token) >= 43
    assert login.refresh_expires_in == 30 * 24 * 3600


async def test_refresh_rotates_and_a_reused_token_ends_the_family(
    users: ugrpc.UserServiceStub,
) -> None:
    login = await log_in(users)
    rotated = await users.RefreshToken(refresh(login.refresh_token))
    assert rotated.user_id == login.user_id
    assert rotated.refresh_token != login.refresh_token
    reused = users.RefreshToken(refresh(login.refresh_token))
    assert await code_of(reused) == grpc.StatusCode.UNAUTHENTICATED
    after_reuse = users.RefreshToken(refresh(rotated.refresh_token))
    assert await code_of(after_reuse) == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_revokes_the_family_and_unknown_tokens_are_unauthenticated(
    users: ugrpc.UserServiceStub,
) -> None:
    login = await log_in(users)
    await users.Logout(upb.LogoutRequest(refresh_token=login.refresh_token))
    refused = users.RefreshToken(refresh(login.refresh_token))
    assert await code_of(refused) == grpc.StatusCode.UNAUTHENTICATED
    for token in ("", "garbage", "\u00e9" * 40):
        assert await code_of(users.RefreshToken(refresh(token))) == grpc.StatusCode.UNAUTHENTICATED
        logout = users.Logout(upb.LogoutRequest(refresh_token=token))
        assert await code_of(logout) == grpc.StatusCode.UNAUTHENTICATED


async def test_a_role_granted_by_the_operator_reaches_the_refreshed_token(
    users: ugrpc.UserServiceStub, database_url: str
) -> None:
    login = await log_in(users, "admin")
    assert b"admin" not in _claims(login.token)
    grant_role(database_url, login.user_id)
    rotated = await users.RefreshToken(refresh(login.refresh_token))
    assert b'"roles":["admin"]' in _claims(rotated.token)


def _claims(token: str) -> bytes:
    payload = token.split(".")[1]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
