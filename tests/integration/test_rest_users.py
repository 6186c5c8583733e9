"""REST contract of accounts, profiles and goals, through the gateway to the user service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.user.tokens import generate_keypair
from tests.helpers import KeyFiles, assert_error, register_and_login
from tests.integration.platform import Platform

FUTURE_DATE = "2099-12-31"


async def test_register_returns_the_seed_fields(platform: Platform) -> None:
    body = {"username": "alice", "email": "alice@example.com", "password": "s3cret-pass"}
    response = await platform.client.post("/users/register", json=body)
    assert response.status_code == 201
    assert set(response.json()) == {"user_id", "username", "email"}
    assert response.json()["email"] == "alice@example.com"


async def test_register_accepts_the_optional_profile(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "bob", weight_kg=81.5)
    profile = (await platform.client.get(f"/users/{user_id}", headers=headers)).json()
    assert profile["weight_kg"] == 81.5
    assert profile["height_cm"] is None


async def test_register_refuses_an_email_taken_in_another_case(platform: Platform) -> None:
    await register_and_login(platform.client, "carol")
    body = {"username": "carol2", "email": "CAROL@example.com", "password": "s3cret-pass"}
    response = await platform.client.post("/users/register", json=body)
    assert assert_error(response, 409)["status"] == "ALREADY_EXISTS"


async def test_register_refuses_a_taken_username(platform: Platform) -> None:
    await register_and_login(platform.client, "dave")
    body = {"username": "dave", "email": "other@example.com", "password": "s3cret-pass"}
    assert_error(await platform.client.post("/users/register", json=body), 409)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"username": "x", "email": "x1@example.com", "password": "s3cret-pass"}, 422),
        ({"username": "eve", "email": "not-an-email", "password": "s3cret-pass"}, 422),
        ({"username": "eve", "email": "eve@example.com", "password": "short"}, 422),
        (
            {
                "username": "eve",
                "email": "eve@example.com",
                "password": "s3cret-pass",
                "weight_kg": 5,
            },
            422,
        ),
        ({"username": "eve", "email": "eve@example.com", "password": 12345678}, 422),
        ({"username": "eve", "email": "eve@example.com"}, 422),
        (
            {
                "username": "eve",
                "email": "eve@example.com",
                "password": "s3cret-pass",
                "role": "admin",
            },
            422,
        ),
        (
            {
                "username": "eve",
                "email": "eve@example.com",
                "password": "s3cret-pass",
                "weight_kg": "70",
            },
            422,
        ),
    ],
)
async def test_register_rejects_bad_input_with_a_clear_client_error(
    platform: Platform, body: dict[str, object], status: int
) -> None:
    assert_error(await platform.client.post("/users/register", json=body), status)


async def test_malformed_json_is_a_422_not_a_500(platform: Platform) -> None:
    response = await platform.client.post(
        "/users/register", content=b'{"username": ', headers={"content-type": "application/json"}
    )
    assert "JSON" in str(assert_error(response, 422)["message"])


async def test_an_oversized_body_is_refused_with_413(platform: Platform) -> None:
    body = {"username": "big", "email": "big@example.com", "password": "x" * 70_000}
    assert_error(await platform.client.post("/users/register", json=body), 413)


async def test_login_returns_a_token_that_opens_the_users_routes(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "frank")
    response = await platform.client.get(f"/users/{user_id}", headers=headers)
    assert response.status_code == 200
    assert response.json()["username"] == "frank"


async def test_login_is_case_insensitive_in_the_email(platform: Platform) -> None:
    await register_and_login(platform.client, "gina")
    body = {"email": "GINA@Example.com", "password": "s3cret-pass"}
    assert (await platform.client.post("/users/login", json=body)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"email": "hank@example.com", "password": "wrong-password"},
        {"email": "nobody@example.com", "password": "s3cret-pass"},
    ],
)
async def test_login_with_bad_credentials_is_401(platform: Platform, body: dict[str, str]) -> None:
    await register_and_login(platform.client, "hank")
    assert_error(await platform.client.post("/users/login", json=body), 401)


async def test_login_without_a_password_is_422(platform: Platform) -> None:
    assert_error(await platform.client.post("/users/login", json={"email": "a@b.co"}), 422)


async def test_a_route_without_a_token_is_401(platform: Platform) -> None:
    user_id, _ = await register_and_login(platform.client, "ivan")
    response = await platform.client.get(f"/users/{user_id}")
    assert_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def _forged(claims: dict[str, object], key: object, algorithm: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm=algorithm)}"}  # type: ignore[arg-type]


async def test_tokens_signed_otherwise_or_expired_are_refused(
    platform: Platform, jwt_keys: KeyFiles
) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    user_id, _ = await register_and_login(platform.client, "judy")
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "iss": "fitness-user-service",
        "aud": "fitness-api",
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    foreign_key, _ = generate_keypair()
    our_key = load_pem_private_key(jwt_keys.private.read_bytes(), None)
    # Past the verifier's 30 s leeway for clock skew.
    expired = {**claims, "iat": now - timedelta(hours=2), "exp": now - timedelta(minutes=5)}
    attempts = [
        _forged(expired, our_key, "EdDSA"),
        _forged(claims, load_pem_private_key(foreign_key, None), "EdDSA"),
        _forged(claims, "a-guessed-secret-that-is-32-bytes!", "HS256"),
        _forged(claims, None, "none"),
        _forged({**claims, "aud": "another-api"}, load_pem_private_key(foreign_key, None), "EdDSA"),
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ]
    for headers in attempts:
        assert_error(await platform.client.get(f"/users/{user_id}", headers=headers), 401)
    # The same claims, signed by our key and not expired, are accepted: the refusals above
    # are for the signature or the expiry, not for the claims.
    control = await platform.client.get(
        f"/users/{user_id}", headers=_forged(claims, our_key, "EdDSA")
    )
    assert control.status_code == 200, control.text


async def test_an_expired_token_is_refused(platform: Platform, jwt_keys: KeyFiles) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    user_id, _ = await register_and_login(platform.client, "kate")
    key = load_pem_private_key(jwt_keys.private.read_bytes(), None)
    past = datetime.now(UTC) - timedelta(hours=2)
    claims = {
        "sub": user_id,
        "iss": "fitness-user-service",
        "aud": "fitness-api",
        "iat": past,
        "exp": past + timedelta(minutes=10),
    }
    response = await platform.client.get(f"/users/{user_id}", headers=_forged(claims, key, "EdDSA"))
    assert "expired" in str(assert_error(response, 401)["message"])


async def test_patch_changes_only_the_fields_sent(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "leo", weight_kg=70)
    body = {"display_name": "Leo", "height_cm": 181, "birth_year": 1990}
    response = await platform.client.patch(f"/users/{user_id}", headers=headers, json=body)
    assert response.status_code == 200
    assert response.json() | body == response.json()
    assert response.json()["weight_kg"] == 70


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"email": "new@example.com"}, 422),
        ({"user_id": "someone-else"}, 422),
        ({"password": "new-password"}, 422),
        ({"weight_kg": None}, 422),
        ({"birth_year": "1990"}, 422),
        ({"weight_kg": 1000}, 422),
        ({"birth_year": 1800}, 422),
        ({"display_name": "x" * 65}, 422),
    ],
)
async def test_patch_refuses_privileged_or_invalid_fields(
    platform: Platform, body: dict[str, object], status: int
) -> None:
    user_id, headers = await register_and_login(platform.client, "mia", weight_kg=60)
    assert_error(
        await platform.client.patch(f"/users/{user_id}", headers=headers, json=body), status
    )
    unchanged = (await platform.client.get(f"/users/{user_id}", headers=headers)).json()
    assert unchanged["weight_kg"] == 60
    assert unchanged["email"] == "mia@example.com"


async def test_a_goal_is_created_with_the_seed_fields_and_listed(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "nina")
    body = {"goal_type": "calories_burned", "target_value": 5000, "target_date": FUTURE_DATE}
    created = await platform.client.post(f"/users/{user_id}/goals", headers=headers, json=body)
    assert created.status_code == 201
    goal = created.json()
    assert {k: goal[k] for k in body} == {**body, "target_value": 5000.0}
    assert goal["current_progress"] == 0
    assert goal["status"] == "active"
    listed = (await platform.client.get(f"/users/{user_id}/goals", headers=headers)).json()
    assert [g["goal_id"] for g in listed["goals"]] == [goal["goal_id"]]
    one = await platform.client.get(f"/users/{user_id}/goals/{goal['goal_id']}", headers=headers)
    assert one.json() == goal


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"goal_type": "sleeping", "target_value": 5, "target_date": FUTURE_DATE}, 422),
        ({"goal_type": "workouts_count", "target_value": -1, "target_date": FUTURE_DATE}, 422),
        ({"goal_type": "workouts_count", "target_value": 0, "target_date": FUTURE_DATE}, 422),
        ({"goal_type": "workouts_count", "target_value": 5, "target_date": "2001-01-01"}, 400),
        ({"goal_type": "workouts_count", "target_value": 5, "target_date": "31/12/2099"}, 422),
        ({"goal_type": "workouts_count", "target_value": "5", "target_date": FUTURE_DATE}, 422),
        ({"goal_type": "workouts_count", "target_date": FUTURE_DATE}, 422),
    ],
)
async def test_goal_creation_rejects_bad_input(
    platform: Platform, body: dict[str, object], status: int
) -> None:
    user_id, headers = await register_and_login(platform.client, "otto")
    assert_error(
        await platform.client.post(f"/users/{user_id}/goals", headers=headers, json=body), status
    )
    listed = (await platform.client.get(f"/users/{user_id}/goals", headers=headers)).json()
    assert listed["goals"] == []


async def test_an_unknown_goal_is_404(platform: Platform) -> None:
    user_id, headers = await register_and_login(platform.client, "paul")
    assert_error(await platform.client.get(f"/users/{user_id}/goals/nope", headers=headers), 404)


async def test_unknown_routes_and_methods_use_the_error_shape(platform: Platform) -> None:
    assert_error(await platform.client.get("/no/such/route"), 404)
    assert_error(await platform.client.put("/users/login"), 405)


async def test_the_request_id_is_echoed_or_created(platform: Platform) -> None:
    given = await platform.client.get("/health/live", headers={"X-Request-ID": "trace-123"})
    assert given.headers["x-request-id"] == "trace-123"
    unsafe = await platform.client.get(
        "/health/live", headers={"X-Request-ID": "bad id\twith spaces"}
    )
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"
    assert len(unsafe.headers["x-request-id"]) == 32
