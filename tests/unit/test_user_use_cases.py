"""User use cases with fakes through the ports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from services.user import service
from services.user.domain import (
    EmailAlreadyRegistered,
    GoalNotFound,
    GoalType,
    InvalidCredentials,
    InvalidInput,
    Profile,
    UserNotFound,
)
from services.user.service import UserDeps
from services.user.tokens import generate_keypair
from tests.unit.fakes import fake_user_deps
from tests.unit.goal_steps import saga_created_goal

PRIVATE, PUBLIC = generate_keypair()


@pytest.fixture
def deps() -> UserDeps:
    return fake_user_deps(PRIVATE)


def register(deps: UserDeps, name: str = "alice", request_id: str = "r1", **profile: Any) -> object:
    return service.register_user(
        deps,
        name,
        f"{name}@example.com",
        "long-password",
        Profile(**profile),
        request_id,
    )


def test_registration_stores_a_hash_not_the_password(deps: UserDeps) -> None:
    user = register(deps)
    assert user.password_hash == "hashed:long-password"  # type: ignore[attr-defined]


def test_registration_retried_with_the_same_request_id_creates_one_user(deps: UserDeps) -> None:
    first, again = register(deps), register(deps)
    assert first == again
    assert len(deps.repo.users) == 1  # type: ignore[attr-defined]


def test_a_second_account_with_the_same_email_is_refused(deps: UserDeps) -> None:
    register(deps)
    with pytest.raises(EmailAlreadyRegistered):
        service.register_user(deps, "alice2", "ALICE@example.com", "long-password", Profile(), "r2")


@pytest.mark.parametrize(
    ("username", "email", "password"),
    [
        ("al", "a@b.co", "long-password"),
        ("al ice", "a@b.co", "long-password"),
        ("alice", "a@b", "long-password"),
        ("alice", "a@b.co", "short"),
        ("alice", "a@b.co", "x" * 129),
    ],
)
def test_registration_rules_are_enforced(
    deps: UserDeps, username: str, email: str, password: str
) -> None:
    with pytest.raises(InvalidInput):
        service.register_user(deps, username, email, password, Profile(), "r")


@pytest.mark.parametrize(
    "profile",
    [
        {"weight_kg": 19.9},
        {"weight_kg": float("nan")},
        {"height_cm": 300},
        {"birth_year": 1899},
        {"birth_year": 2031},
        {"display_name": "x" * 65},
    ],
)
def test_profile_values_out_of_range_are_refused(deps: UserDeps, profile: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        register(deps, **profile)


def test_login_issues_a_token_for_the_user_signed_with_eddsa(deps: UserDeps) -> None:
    user = register(deps)
    session = service.login(deps, "Alice@Example.com", "long-password")
    logged_in, issued = session.user, session.access
    assert logged_in == user
    claims = jwt.decode(
        issued.token,
        cast(Ed25519PublicKey, load_pem_public_key(PUBLIC)),
        algorithms=["EdDSA"],
        audience="aud",
        issuer="iss",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["sub"] == user.user_id  # type: ignore[attr-defined]
    assert claims["exp"] - claims["iat"] == 600


def test_login_with_a_wrong_password_is_refused(deps: UserDeps) -> None:
    register(deps)
    with pytest.raises(InvalidCredentials):
        service.login(deps, "alice@example.com", "wrong-password")


def test_login_for_an_unknown_email_still_runs_a_hash(deps: UserDeps) -> None:
    with pytest.raises(InvalidCredentials):
        service.login(deps, "nobody@example.com", "long-password")
    assert deps.hasher.verifications == 1  # type: ignore[attr-defined]


def test_update_profile_changes_only_the_given_fields(deps: UserDeps) -> None:
    user = register(deps, weight_kg=70.0)
    updated = service.update_profile(deps, user.user_id, {"height_cm": 180.0})  # type: ignore[attr-defined]
    assert updated.profile == Profile(weight_kg=70.0, height_cm=180.0)


def test_update_profile_of_an_unknown_user_is_not_found(deps: UserDeps) -> None:
    with pytest.raises(UserNotFound):
        service.update_profile(deps, "ghost", {"height_cm": 180.0})


def test_goals_are_created_active_with_zero_progress(deps: UserDeps) -> None:
    user_id = register(deps).user_id  # type: ignore[attr-defined]
    goal = saga_created_goal(deps, user_id, GoalType.ACTIVE_MINUTES, 300, date(2030, 2, 1), "s1")
    assert goal.current_progress == 0
    assert goal.status.value == "active"
    assert service.get_goal(deps, user_id, goal.goal_id) == goal
    assert service.list_goals(deps, user_id) == [goal]


@pytest.mark.parametrize(
    ("value", "days"), [(0, 10), (-5, 10), (float("inf"), 10), (1e8, 10), (10, -1)]
)
def test_goal_rules_are_enforced(deps: UserDeps, value: float, days: int) -> None:
    user = register(deps)
    target = date(2030, 1, 1) + timedelta(days=days)
    with pytest.raises(InvalidInput):
        saga_created_goal(deps, user.user_id, GoalType.WORKOUTS_COUNT, value, target, "s")  # type: ignore[attr-defined]
    assert service.list_goals(deps, user.user_id) == []  # type: ignore[attr-defined]


def test_goals_of_unknown_users_and_unknown_goals_are_not_found(deps: UserDeps) -> None:
    with pytest.raises(UserNotFound):
        saga_created_goal(deps, "ghost", GoalType.WORKOUTS_COUNT, 1, date(2031, 1, 1), "s")
    with pytest.raises(UserNotFound):
        service.get_goal(deps, "ghost", "nothing")
    user = register(deps)
    with pytest.raises(GoalNotFound):
        service.get_goal(deps, user.user_id, "nothing")  # type: ignore[attr-defined]
