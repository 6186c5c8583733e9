"""User use cases as plain functions over ports; no gRPC or HTTP here."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.common.cache import PROFILE, Invalidator, NoInvalidation, user_entity
from services.common.timeutil import Clock, utc_now
from services.user.auth_store import AuthStore
from services.user.domain import (
    Goal,
    GoalNotFound,
    InvalidCredentials,
    InvalidRefreshToken,
    Profile,
    RefreshRecord,
    User,
    UserNotFound,
    validate_registration,
    validated_profile,
)
from services.user.passwords import PasswordHasher
from services.user.repository import UserRepository
from services.user.tokens import IssuedToken, TokenIssuer


def new_id() -> str:
    """A fresh opaque identifier."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class UserDeps:
    """Everything the user use cases need, wired once by the composition root."""

    repo: UserRepository
    hasher: PasswordHasher
    tokens: TokenIssuer
    auth: AuthStore
    clock: Clock = utc_now
    make_id: Callable[[], str] = field(default=new_id)
    # Verified when the email is unknown, so both failures cost one hash (no timing oracle).
    decoy_hash: str = ""
    refresh_ttl_seconds: int = 30 * 24 * 3600
    # The shared cache holds GetUser's answer for the gateway and the activity service:
    # forgotten after every committed change to it.
    cache: Invalidator = field(default_factory=NoInvalidation)


@dataclass(frozen=True)
class Session:
    """What a login or a refresh hands out: an access token and the next refresh token."""

    user: User
    access: IssuedToken
    refresh_token: str
    refresh_expires_in: int


def register_user(
    deps: UserDeps, username: str, email: str, password: str, profile: Profile, request_id: str
) -> User:
    """Create an account with an argon2id password hash."""
    validate_registration(username, email.strip(), password)
    profile = validated_profile(profile, deps.clock().year)
    user = User(
        user_id=deps.make_id(),
        username=username,
        email=email.strip(),
        password_hash=deps.hasher.hash(password),
        profile=profile,
        created_at=deps.clock(),
    )
    return deps.repo.add_user(user, request_id)


def login(deps: UserDeps, email: str, password: str) -> Session:
    """Check the credentials; start a refresh-token family and issue an access token."""
    user = deps.repo.find_by_email(email)
    stored_hash = user.password_hash if user else deps.decoy_hash
    if not deps.hasher.verify(stored_hash, password) or user is None:
        raise InvalidCredentials("email or password is wrong")
    now = deps.clock()
    token, record = _new_refresh(deps, user.user_id, new_id(), now)
    deps.auth.add_refresh(record)
    return _session(deps, user, token)


def refresh_session(deps: UserDeps, refresh_token: str) -> Session:
    """Exchange a refresh token for a new one of the same family and a fresh access token.

    A token that was already exchanged is evidence of theft (one of its two holders is
    not the user), so the whole family is revoked and both must log in again.
    """
    now = deps.clock()
    record = _live_refresh(deps, refresh_token, now)
    if record.used_at is not None:
        deps.auth.revoke_family(record.family_id, now)
        raise InvalidRefreshToken("refresh token was already used; its login is revoked")
    user = deps.repo.get_user(record.user_id)
    if user is None:
        raise InvalidRefreshToken("refresh token is invalid or expired")
    token, successor = _new_refresh(deps, user.user_id, record.family_id, now)
    if not deps.auth.exchange_refresh(record.token_hash, successor, now):
        # Another exchange of the same token won the race: that is a reuse too.
        deps.auth.revoke_family(record.family_id, now)
        raise InvalidRefreshToken("refresh token was already used; its login is revoked")
    return _session(deps, user, token)


def logout(deps: UserDeps, refresh_token: str) -> None:
    """Revoke every refresh token of the login this token belongs to."""
    record = deps.auth.find_refresh(token_digest(refresh_token)) if refresh_token else None
    if record is None:
        raise InvalidRefreshToken("refresh token is unknown")
    deps.auth.revoke_family(record.family_id, deps.clock())


def token_digest(refresh_token: str) -> str:
    """What the store keeps of a refresh token: a high-entropy secret needs no slow hash."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()


def _live_refresh(deps: UserDeps, refresh_token: str, now: datetime) -> RefreshRecord:
    record = deps.auth.find_refresh(token_digest(refresh_token)) if refresh_token else None
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        raise InvalidRefreshToken("refresh token is invalid or expired")
    return record


def _new_refresh(
    deps: UserDeps, user_id: str, family_id: str, now: datetime
) -> tuple[str, RefreshRecord]:
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=deps.refresh_ttl_seconds)
    return token, RefreshRecord(token_digest(token), family_id, user_id, now, expires_at)


def _session(deps: UserDeps, user: User, refresh_token: str) -> Session:
    # Roles are read at every issue, so a revoked role ends with the access token's TTL.
    access = deps.tokens.issue(user.user_id, deps.auth.roles_of(user.user_id))
    return Session(user, access, refresh_token, deps.refresh_ttl_seconds)


def get_user(deps: UserDeps, user_id: str) -> User:
    """Return one user or raise UserNotFound."""
    user = deps.repo.get_user(user_id)
    if user is None:
        raise UserNotFound(f"user {user_id} not found")
    return user


def update_profile(deps: UserDeps, user_id: str, changes: dict[str, Any]) -> User:
    """Change the given profile fields after validating the resulting profile."""
    current = get_user(deps, user_id)
    merged = validated_profile(Profile(**{**asdict(current.profile), **changes}), deps.clock().year)
    cleaned = {name: getattr(merged, name) for name in changes}
    updated = deps.repo.update_profile(user_id, cleaned)
    if updated is None:
        raise UserNotFound(f"user {user_id} not found")
    forget_user(deps, user_id)
    return updated


def forget_user(deps: UserDeps, user_id: str) -> None:
    """After a committed change to what GetUser answers: drop the shared cache's copy."""
    deps.cache.invalidate(PROFILE, user_entity(user_id))


def get_goal(deps: UserDeps, user_id: str, goal_id: str) -> Goal:
    """Return one goal of an existing user (not one being deleted) or raise a NotFound."""
    get_user(deps, user_id)
    goal = deps.repo.get_goal(user_id, goal_id)
    if goal is None:
        raise GoalNotFound(f"goal {goal_id} not found")
    return goal


def list_goals(deps: UserDeps, user_id: str) -> list[Goal]:
    """Return all goals of an existing user, newest first."""
    get_user(deps, user_id)
    return deps.repo.list_goals(user_id)
