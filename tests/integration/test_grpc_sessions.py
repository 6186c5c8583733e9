"""RefreshToken and Logout called over gRPC, as the gateway does, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from fitness.user.v1 import user_service_pb2 as upb
from fitness.user.v1 import user_service_pb2_grpc as ugrpc
from sqlalchemy import Connection, func, select, text

from services.common.db import make_engine, migrate
from services.common.trust import GATEWAY, USER
from services.user.__main__ import MIGRATIONS
from services.user.auth_store import SqlAuthStore
from services.user.domain import Profile, RefreshRecord, User
from services.user.sql_repository import SqlUserRepository
from services.user.tables import refresh_tokens
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
    reply: upb.LoginResponse = await users.Login(
        upb.LoginRequest(email=email, password="long-password")
    )
    return reply


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


async def test_a_family_keeps_two_rows_however_often_it_refreshes_and_reuse_is_still_caught(
    users: ugrpc.UserServiceStub, database_url: str
) -> None:
    login = await log_in(users)
    previous, current = login.refresh_token, login.refresh_token
    engine = make_engine(database_url)
    count = select(func.count()).select_from(refresh_tokens)
    try:
        for _ in range(10):
            previous = current
            current = (await users.RefreshToken(refresh(current))).refresh_token
            with engine.connect() as conn:
                assert conn.execute(count).scalar_one() <= 2
    finally:
        engine.dispose()
    assert await code_of(users.RefreshToken(refresh(previous))) == grpc.StatusCode.UNAUTHENTICATED
    assert await code_of(users.RefreshToken(refresh(current))) == grpc.StatusCode.UNAUTHENTICATED


NOW = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)


def token(token_hash: str, family: str) -> RefreshRecord:
    return RefreshRecord(token_hash, family, "ann", NOW, NOW + timedelta(days=30))


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll until the condition holds; the deadline only keeps a broken run from hanging."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def test_a_logout_racing_a_refresh_on_postgresql_revokes_the_new_token_too(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    migrate(engine, MIGRATIONS)
    SqlUserRepository(engine).add_user(User("ann", "ann", "ann@x.io", "h", Profile(), NOW), "ann")
    store = SqlAuthStore(engine)
    store.add_refresh(token("a" * 64, "f1"))
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )

    def blocked(conn: Connection, n: int) -> Callable[[], bool]:
        return lambda: conn.execute(waiting).scalar_one() == n

    try:
        with (
            engine.connect() as watcher,
            engine.connect() as holder,
            ThreadPoolExecutor(2) as threads,
        ):
            watcher.execution_options(isolation_level="AUTOCOMMIT")
            # An uncommitted row with the successor's key holds the exchange just before
            # it stores the successor, with the presented token already claimed.
            holder.execute(
                refresh_tokens.insert().values(
                    token_hash="b" * 64,
                    family_id="f0",
                    user_id="ann",
                    issued_at=NOW,
                    expires_at=NOW + timedelta(days=1),
                )
            )
            exchange = threads.submit(store.exchange_refresh, "a" * 64, token("b" * 64, "f1"), NOW)
            wait_until(blocked(watcher, 1))
            revoke = threads.submit(store.revoke_family, "f1", NOW)
            wait_until(blocked(watcher, 2))
            holder.rollback()
            assert exchange.result()
            revoke.result()
        successor = store.find_refresh("b" * 64)
        assert successor is not None
        assert successor.revoked_at == NOW
    finally:
        engine.dispose()
