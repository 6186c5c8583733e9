"""The edge refuses what would crash or corrupt further in: every field, every route."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI
from fitness.user.v1 import user_service_pb2 as user_pb

from gateway.edge.dependencies import Admin, Caller, Principal
from gateway.edge.openapi import install_openapi
from services.common.timeutil import parse_time
from services.common.upstream import RpcFailed, UserRpc
from tests.helpers import assert_error, register_and_login
from tests.integration.platform import Platform, served

SURROGATE = "\ud800"
# json.dumps writes a lone surrogate as the escape a client would send: "\ud800".
REGISTER = {"username": "zed", "email": "zed@example.com", "password": "s3cret-pass"}


async def post_json(client: httpx.AsyncClient, url: str, body: Any, **kwargs: Any) -> Any:
    """POST a body serialised by json.dumps, which escapes lone surrogates as \\uXXXX."""
    headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
    return await client.post(url, content=json.dumps(body), headers=headers, **kwargs)


@pytest.mark.parametrize("field", ["username", "email", "password", "display_name"])
async def test_a_lone_surrogate_in_any_register_field_is_a_422(
    platform: Platform, field: str
) -> None:
    body = {**REGISTER, field: f"zed{SURROGATE}x"}
    response = await post_json(platform.client, "/users/register", body)
    assert "surrogate" in str(assert_error(response, 422)["message"])


async def test_a_lone_surrogate_at_login_is_a_422_and_the_gateway_keeps_serving(
    platform: Platform,
) -> None:
    body = {"email": f"a{SURROGATE}@example.com", "password": "s3cret-pass"}
    assert_error(await post_json(platform.client, "/users/login", body), 422)
    await register_and_login(platform.client, "after")


async def test_lone_surrogates_in_workout_and_goal_fields_are_422s(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "sur")
    client = platform.client
    start = await post_json(client, "/workouts/start", {"workout_type": SURROGATE}, headers=headers)
    assert_error(start, 422)
    session = await client.post("/workouts/start", json={"workout_type": "yoga"}, headers=headers)
    url = f"/workouts/{session.json()['session_id']}/end"
    assert_error(await post_json(client, url, {"end_time": SURROGATE}, headers=headers), 422)
    goal = {"goal_type": "workouts_count", "target_value": 3, "target_date": SURROGATE}
    goal_url = f"/users/{user_id}/goals"
    assert_error(await post_json(client, goal_url, goal, headers=headers), 422)
    group = {"title": f"x{SURROGATE}", "workout_type": "yoga"}
    assert_error(await post_json(client, "/group-sessions", group, headers=headers), 422)


async def test_a_surrogate_pair_is_a_character_not_an_error(platform: Platform) -> None:
    body = {**REGISTER, "display_name": "Zed \U0001f3c3"}
    response = await post_json(platform.client, "/users/register", body)
    assert response.status_code == 201, response.text


async def test_a_body_that_is_not_utf8_is_a_422(platform: Platform) -> None:
    response = await platform.client.post(
        "/users/login",
        content='{"email": "\xe9@example.com", "password": "s3cret-pass"}'.encode("latin-1"),
        headers={"content-type": "application/json"},
    )
    assert "UTF-8" in str(assert_error(response, 422)["message"])


# The edge checks a body as JSON when its Content-Type says so, and also without one.
JSON_CONTENT_TYPES = pytest.mark.parametrize(
    "headers",
    [{"content-type": "application/json"}, {}, {"content-type": ""}],
    ids=["json", "no-content-type", "empty-content-type"],
)


@JSON_CONTENT_TYPES
async def test_a_utf16_body_is_a_422_not_silently_decoded(
    platform: Platform, headers: dict[str, str]
) -> None:
    body = '{"email": "a@example.com", "password": "s3cret-pass"}'.encode("utf-16")
    response = await platform.client.post("/users/login", content=body, headers=headers)
    assert "UTF-8" in str(assert_error(response, 422)["message"])


@JSON_CONTENT_TYPES
async def test_a_deeply_nested_body_is_a_422(platform: Platform, headers: dict[str, str]) -> None:
    response = await platform.client.post(
        "/users/login", content=b"[" * 30_000 + b"]" * 30_000, headers=headers
    )
    assert "deeply" in str(assert_error(response, 422)["message"])


async def test_a_body_without_a_content_type_is_checked_and_then_refused_as_not_json(
    platform: Platform,
) -> None:
    unsafe = json.dumps({**REGISTER, "display_name": SURROGATE}).encode()
    refused = await platform.client.post("/users/register", content=unsafe)
    assert "content-type" not in refused.request.headers
    assert "surrogate" in str(assert_error(refused, 422)["message"])
    # A sound body is not taken as JSON either (FastAPI's strict_content_type): 422, no account.
    body = json.dumps({**REGISTER, "username": "notype", "email": "notype@example.com"})
    untyped = await platform.client.post("/users/register", content=body.encode())
    assert_error(untyped, 422)
    login = {"email": "notype@example.com", "password": REGISTER["password"]}
    assert (await platform.client.post("/users/login", json=login)).status_code == 401


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("birth_year", 2_147_483_648),
        ("birth_year", -2_147_483_649),
        ("birth_year", 10**30),
        ("weight_kg", 1e308 * 10),
        ("height_cm", float("nan")),
    ],
)
async def test_numbers_past_what_the_stores_hold_are_422s(
    platform: Platform, field: str, value: float
) -> None:
    response = await post_json(platform.client, "/users/register", {**REGISTER, field: value})
    assert_error(response, 422)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", "Ze\x00d"),
        ("display_name", "Zed\x07"),
        ("display_name", "Zed\u202edeZ"),
        ("display_name", "Zed\x85"),
        ("email", "zed\x00@example.com"),
        ("email", "zed\u202e@example.com"),
        ("email", "zed\u200b@example.com"),
        ("email", "zed\ufeff@example.com"),
        ("password", "s3cret-pass\x00"),
        ("username", "zed\x00"),
    ],
)
async def test_control_and_bidi_characters_are_refused_at_registration(
    platform: Platform, field: str, value: str
) -> None:
    response = await platform.client.post("/users/register", json={**REGISTER, field: value})
    message = str(assert_error(response, 422)["message"])
    assert message.startswith(field)


async def test_control_characters_are_refused_in_profile_changes_and_titles(
    platform: Platform,
) -> None:
    user_id, headers = await register_and_login(platform.client, "ctl")
    patch = await platform.client.patch(
        f"/users/{user_id}", json={"display_name": "a\x1bb"}, headers=headers
    )
    assert_error(patch, 422)
    group = await platform.client.post(
        "/group-sessions",
        json={"title": "Morning\x00yoga", "workout_type": "yoga"},
        headers=headers,
    )
    assert_error(group, 422)
    profile = (await platform.client.get(f"/users/{user_id}", headers=headers)).json()
    assert profile["display_name"] == ""


@pytest.mark.parametrize(
    "scheduled_at",
    [
        "tomorrow",
        "2030-01-01",
        "2030-01-01T10:00:00",
        "2030-02-30T10:00:00Z",
        "0001-01-01T00:00:00+01:00",
    ],
)
async def test_non_dates_as_scheduled_at_are_refused(platform: Platform, scheduled_at: str) -> None:
    _, headers = await register_and_login(platform.client, "sched")
    body = {"title": "Yoga", "workout_type": "yoga", "scheduled_at": scheduled_at}
    assert_error(await platform.client.post("/group-sessions", json=body, headers=headers), 422)


async def test_an_rfc3339_scheduled_at_is_kept(platform: Platform) -> None:
    _, headers = await register_and_login(platform.client, "sched2")
    body = {"title": "Yoga", "workout_type": "yoga", "scheduled_at": "2030-01-01T10:00:00+02:00"}
    created = await platform.client.post("/group-sessions", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert parse_time(created.json()["scheduled_at"]) == parse_time(body["scheduled_at"])


@pytest.mark.parametrize("path_id", ["a%00b", "a%0Ab", "%E2%80%AE", "x" * 129])
async def test_ids_in_paths_must_look_like_ids(platform: Platform, path_id: str) -> None:
    _, headers = await register_and_login(platform.client, "pid")
    response = await platform.client.get(f"/users/{path_id}/goals", headers=headers)
    assert_error(response, 422)


async def test_patch_null_is_refused_and_the_schema_does_not_offer_it(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "nul")
    patch = await platform.client.patch(
        f"/users/{user_id}", json={"display_name": None}, headers=headers
    )
    assert "null" in str(assert_error(patch, 422)["message"])
    schemas = platform.app.openapi()["components"]["schemas"]
    for name in ("ProfilePatch", "GoalPatch"):
        for field, spec in schemas[name]["properties"].items():
            assert "anyOf" not in spec, (name, field)
            assert spec["type"] != "null", (name, field)


async def test_a_wrong_method_answers_405_naming_every_method_of_the_path(
    platform: Platform,
) -> None:
    response = await platform.client.put("/users/some-user")
    assert_error(response, 405)
    assert set(response.headers["allow"].split(", ")) >= {"GET", "PATCH"}


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes) -> int:
    """Send one login request on an open connection and read its answer; its status."""
    writer.write(
        b"POST /users/login HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n"
        + b"content-length: %d\r\n\r\n" % len(body)
        + body
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def test_a_lone_surrogate_does_not_cost_the_client_its_keep_alive_connection(
    platform: Platform,
) -> None:
    async with served(platform.app) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            bad = b'{"email": "a\\ud800@example.com", "password": "s3cret-pass"}'
            assert await _exchange(reader, writer, bad) == 422
            unknown = b'{"email": "nobody@example.com", "password": "s3cret-pass"}'
            assert await _exchange(reader, writer, unknown) == 401
        finally:
            writer.close()
            await writer.wait_closed()


@pytest.mark.parametrize(
    ("email", "display_name"),
    [
        ("zed\x00@example.com", "Zed"),
        ("zed\u202e@example.com", "Zed"),
        ("zed@example.com", "Z\x00"),
    ],
)
async def test_direct_grpc_callers_get_invalid_argument_for_unsafe_text(
    platform: Platform, email: str, display_name: str
) -> None:
    request = user_pb.RegisterUserRequest(
        request_id="direct",
        username="zed",
        email=email,
        password="s3cret-pass",
        profile=user_pb.Profile(display_name=display_name),
    )
    with pytest.raises(RpcFailed) as refused:
        await platform.upstreams.users.call(UserRpc.RegisterUser, request)
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT


def test_each_auth_dependency_declares_its_401_on_a_route_that_declares_nothing() -> None:
    app = FastAPI()

    @app.get("/caller")
    async def caller(_caller: Caller) -> None:
        """Needs a user."""

    @app.get("/principal")
    async def principal(_principal: Principal) -> None:
        """Needs a user or an admin."""

    @app.get("/admin")
    async def admin(_admin: Admin) -> None:
        """Needs an admin."""

    install_openapi(app)
    paths = app.openapi()["paths"]
    declared = {path: set(paths[path]["get"]["responses"]) - {"200"} for path in paths}
    assert declared == {"/caller": {"401"}, "/principal": {"401"}, "/admin": {"401", "403"}}
