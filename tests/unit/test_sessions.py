"""Refresh-token rotation, reuse detection, logout and operator-granted roles, on fakes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from gateway.edge.login_throttle import address_bucket
from services.user import roles, service
from services.user.domain import InvalidInput, InvalidRefreshToken, Profile, User, UserNotFound
from services.user.service import Session, UserDeps
from services.user.tokens import generate_keypair
from tests.unit.fakes import FakeAuthStore, FakeUserRepository, SteppingClock, fake_user_deps

PRIVATE, PUBLIC = generate_keypair()


@pytest.fixture
def deps() -> UserDeps:
    return fake_user_deps(PRIVATE)


def signup(deps: UserDeps, name: str = "alice") -> User:
    email = f"{name}@example.com"
    return service.register_user(deps, name, email, "long-password", Profile(), name)


def log_in(deps: UserDeps, name: str = "alice") -> Session:
    return service.login(deps, f"{name}@example.com", "long-password")


def roles_in(session: Session) -> list[str]:
    claims = jwt.decode(
        session.access.token,
        load_pem_public_key(PUBLIC),  # type: ignore[arg-type]
        algorithms=["EdDSA"],
        audience="aud",
        issuer="iss",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    found: list[str] = claims["roles"]
    return found


def auth_store(deps: UserDeps) -> FakeAuthStore:
    assert isinstance(deps.auth, FakeAuthStore)
    return deps.auth


def test_the_store_keeps_only_the_sha256_of_a_refresh_token(deps: UserDeps) -> None:
    signup(deps)
    session = log_in(deps)
    assert list(auth_store(deps).refresh) == [service.token_digest(session.refresh_token)]
    assert session.refresh_token not in str(auth_store(deps).refresh)


def test_a_refresh_hands_out_a_new_token_of_the_same_family(deps: UserDeps) -> None:
    user = signup(deps)
    first = log_in(deps)
    second = service.refresh_session(deps, first.refresh_token)
    assert second.user == user
    assert second.refresh_token != first.refresh_token
    records = list(auth_store(deps).refresh.values())
    assert len({r.family_id for r in records}) == 1
    assert [r.used_at is not None for r in records] == [True, False]


def test_reusing_a_rotated_token_revokes_the_whole_family(deps: UserDeps) -> None:
    signup(deps)
    first = log_in(deps)
    second = service.refresh_session(deps, first.refresh_token)
    with pytest.raises(InvalidRefreshToken, match="already used"):
        service.refresh_session(deps, first.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        service.refresh_session(deps, second.refresh_token)


def test_reuse_in_one_family_leaves_another_login_alone(deps: UserDeps) -> None:
    signup(deps)
    phone, laptop = log_in(deps), log_in(deps)
    service.refresh_session(deps, phone.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        service.refresh_session(deps, phone.refresh_token)
    assert service.refresh_session(deps, laptop.refresh_token).refresh_token


def test_logout_revokes_every_token_of_the_login(deps: UserDeps) -> None:
    signup(deps)
    first = log_in(deps)
    second = service.refresh_session(deps, first.refresh_token)
    service.logout(deps, first.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        service.refresh_session(deps, second.refresh_token)


@pytest.mark.parametrize("token", ["", "garbage", "x" * 43])
def test_unknown_refresh_tokens_are_refused(deps: UserDeps, token: str) -> None:
    with pytest.raises(InvalidRefreshToken):
        service.refresh_session(deps, token)
    with pytest.raises(InvalidRefreshToken):
        service.logout(deps, token)


def test_a_refresh_token_expires_after_its_ttl() -> None:
    clock = SteppingClock(step=timedelta(seconds=0))
    deps = dataclasses.replace(fake_user_deps(PRIVATE), clock=clock, refresh_ttl_seconds=60)
    signup(deps)
    session = log_in(deps)
    clock.now += timedelta(seconds=59)
    still = service.refresh_session(deps, session.refresh_token)
    clock.now += timedelta(seconds=60)
    with pytest.raises(InvalidRefreshToken, match="expired"):
        service.refresh_session(deps, still.refresh_token)


def test_a_refresh_for_a_user_that_no_longer_exists_fails(deps: UserDeps) -> None:
    user = signup(deps)
    session = log_in(deps)
    assert isinstance(deps.repo, FakeUserRepository)
    del deps.repo.users[user.user_id]
    with pytest.raises(InvalidRefreshToken):
        service.refresh_session(deps, session.refresh_token)


def test_the_username_admin_gives_no_admin_role(deps: UserDeps) -> None:
    signup(deps, "admin")
    assert roles_in(log_in(deps, "admin")) == []


def test_a_granted_role_reaches_the_next_token_and_a_revoked_one_leaves_it(
    deps: UserDeps,
) -> None:
    user = signup(deps)
    session = log_in(deps)
    assert roles.grant_role(deps.auth, user, "admin")
    assert not roles.grant_role(deps.auth, user, "admin")
    refreshed = service.refresh_session(deps, session.refresh_token)
    assert roles_in(refreshed) == ["admin"]
    assert roles.revoke_role(deps.auth, user, "admin")
    assert roles_in(service.refresh_session(deps, refreshed.refresh_token)) == []
    assert roles.list_grants(deps.auth) == []


def test_accounts_are_named_by_exactly_one_known_id_or_email(deps: UserDeps) -> None:
    user = signup(deps)
    assert roles.find_account(deps.repo, email="ALICE@example.com") == user
    assert roles.find_account(deps.repo, user_id=user.user_id) == user
    with pytest.raises(InvalidInput):
        roles.find_account(deps.repo, user.user_id, user.email)
    with pytest.raises(UserNotFound):
        roles.find_account(deps.repo, email="nobody@example.com")
    with pytest.raises(InvalidInput, match="unknown role"):
        roles.grant_role(deps.auth, user, "root")


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unknown", "unknown"),
    ],
)
def test_the_throttle_keys_ipv4_clients_whole_and_ipv6_clients_by_their_64(
    address: str, bucket: str
) -> None:
    assert address_bucket(address) == bucket
