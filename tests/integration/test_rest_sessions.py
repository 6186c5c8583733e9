"""Refresh, logout and operator-granted roles through the REST API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete

from deploy.local import LocalSettings, grant_admin_command
from services.common.db import make_engine
from services.user import roles_cli
from services.user.__main__ import MIGRATIONS
from services.user.config import UserSettings
from services.user.tables import users
from tests.helpers import assert_error, register_and_login
from tests.integration.platform import Platform

PASSWORD = "s3cret-pass"


async def log_in(platform: Platform, name: str) -> dict[str, object]:
    response = await platform.client.post(
        "/users/login", json={"email": f"{name}@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def bearer(tokens: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['token']}"}


def run_roles(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m services.user roles ...`` against the platform's user store."""
    env = {**os.environ, "USER_DATABASE_URL": platform.user_database_url}
    return subprocess.run(
        [sys.executable, "-m", "services.user", "roles", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_token_answers_carry_a_refresh_token_and_must_not_be_cached(
    platform: Platform,
) -> None:
    await register_and_login(platform.client, "tia")
    login = await platform.client.post(
        "/users/login", json={"email": "tia@example.com", "password": PASSWORD}
    )
    refreshed = await platform.client.post(
        "/users/token/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    for response in (login, refreshed):
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"
        body = response.json()
        assert body["expires_in"] == 900
        assert body["token_type"] == "Bearer"
        assert body["refresh_token"]
    assert refreshed.json()["refresh_token"] != login.json()["refresh_token"]


async def test_a_refreshed_access_token_opens_the_users_routes(platform: Platform) -> None:
    user_id, _ = await register_and_login(platform.client, "uma")
    tokens = await log_in(platform, "uma")
    refreshed = await platform.client.post(
        "/users/token/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    me = await platform.client.get(f"/users/{user_id}", headers=bearer(refreshed.json()))
    assert me.status_code == 200


async def test_reusing_a_rotated_refresh_token_ends_the_login(platform: Platform) -> None:
    await register_and_login(platform.client, "val")
    first = await log_in(platform, "val")
    second = await platform.client.post(
        "/users/token/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    reused = await platform.client.post(
        "/users/token/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert "already used" in str(assert_error(reused, 401)["message"])
    newest = await platform.client.post(
        "/users/token/refresh", json={"refresh_token": second.json()["refresh_token"]}
    )
    assert_error(newest, 401)


async def test_logout_answers_204_and_ends_the_login(platform: Platform) -> None:
    await register_and_login(platform.client, "wes")
    tokens = await log_in(platform, "wes")
    body = {"refresh_token": tokens["refresh_token"]}
    logout = await platform.client.post("/users/logout", json=body)
    assert logout.status_code == 204
    assert logout.content == b""
    assert logout.headers["cache-control"] == "no-store"
    assert_error(await platform.client.post("/users/token/refresh", json=body), 401)


@pytest.mark.parametrize("route", ["/users/token/refresh", "/users/logout"])
@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"refresh_token": "garbage"}, 401),
        ({"refresh_token": ""}, 422),
        ({"refresh_token": "x" * 257}, 422),
        ({"refresh_token": 7}, 422),
        ({}, 422),
        ({"refresh_token": "garbage", "user_id": "u"}, 422),
    ],
)
async def test_bad_refresh_tokens_get_a_clear_error(
    platform: Platform, route: str, body: dict[str, object], status: int
) -> None:
    assert_error(await platform.client.post(route, json=body), status)


async def test_a_refresh_for_a_user_that_no_longer_exists_fails(platform: Platform) -> None:
    user_id, _ = await register_and_login(platform.client, "xan")
    tokens = await log_in(platform, "xan")
    engine = make_engine(platform.user_database_url)
    with engine.begin() as conn:
        conn.execute(delete(users).where(users.c.user_id == user_id))
    engine.dispose()
    refresh = {"refresh_token": tokens["refresh_token"]}
    assert_error(await platform.client.post("/users/token/refresh", json=refresh), 401)


async def test_the_username_admin_is_no_admin_until_an_operator_grants_the_role(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "admin")
    assert_error(await platform.client.get("/admin/sagas", headers=headers), 403)
    granted = run_roles(platform, "grant", "admin", "--email", "ADMIN@example.com")
    assert granted.returncode == 0, granted.stderr
    assert user_id in granted.stdout
    assert_error(await platform.client.get("/admin/sagas", headers=headers), 403)
    fresh = bearer(await log_in(platform, "admin"))
    assert (await platform.client.get("/admin/sagas", headers=fresh)).status_code == 200
    listed = run_roles(platform, "list")
    assert listed.stdout.split("\t")[:2] == [user_id, "admin"]
    revoked = run_roles(platform, "revoke", "admin", "--user-id", user_id)
    assert revoked.returncode == 0, revoked.stderr
    after = bearer(await log_in(platform, "admin"))
    assert_error(await platform.client.get("/admin/sagas", headers=after), 403)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grant", "admin", "--email", "nobody@example.com"], "no user with email"),
        (["revoke", "admin", "--user-id", "ghost"], "no user with id ghost"),
        (["grant", "root", "--email", "nobody@example.com"], "unknown role"),
        (["list", "--role", "root"], "unknown role"),
    ],
)
async def test_the_roles_command_explains_what_it_cannot_do(
    platform: Platform, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    settings = UserSettings(database_url=platform.user_database_url)
    assert roles_cli.run(settings, MIGRATIONS, args) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ")
    assert message in error


@pytest.mark.parametrize(
    "args",
    [["grant", "admin"], ["grant", "--email", "a@b.co", "--user-id", "u"], ["promote"], []],
)
async def test_the_roles_command_needs_one_account_and_a_known_action(
    platform: Platform, args: list[str]
) -> None:
    settings = UserSettings(database_url=platform.user_database_url)
    with pytest.raises(SystemExit) as exited:
        roles_cli.run(settings, MIGRATIONS, args)
    assert exited.value.code == 2


async def test_the_grant_command_make_run_prints_makes_an_admin(
    platform: Platform, tmp_path: Path
) -> None:
    # The platform's user store is tmp_path/user.db, where a launcher with this data dir keeps it.
    assert platform.user_database_url == f"sqlite:///{tmp_path / 'user.db'}"
    await register_and_login(platform.client, "ops")
    command = grant_admin_command(LocalSettings(data_dir=tmp_path), email="ops@example.com")
    done = await asyncio.create_subprocess_shell(command, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(done.communicate(), 60)
    assert done.returncode == 0, stderr
    fresh = bearer(await log_in(platform, "ops"))
    assert (await platform.client.get("/admin/sagas", headers=fresh)).status_code == 200
