"""User use cases as plain functions over ports; no gRPC or HTTP here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from services.common.timeutil import Clock, utc_now
from services.user.domain import (
    Goal,
    GoalNotFound,
    GoalStatus,
    GoalType,
    InvalidCredentials,
    Profile,
    User,
    UserNotFound,
    validate_goal,
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
    clock: Clock = utc_now
    make_id: Callable[[], str] = field(default=new_id)
    # Verified when the email is unknown, so both failures cost one hash (no timing oracle).
    decoy_hash: str = ""
    # Users whose tokens carry the "admin" role (saga inspection and the like).
    admin_usernames: frozenset[str] = frozenset()


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


def login(deps: UserDeps, email: str, password: str) -> tuple[User, IssuedToken]:
    """Check the credentials and issue an access token."""
    user = deps.repo.find_by_email(email)
    stored_hash = user.password_hash if user else deps.decoy_hash
    if not deps.hasher.verify(stored_hash, password) or user is None:
        raise InvalidCredentials("email or password is wrong")
    roles = ("admin",) if user.username in deps.admin_usernames else ()
    return user, deps.tokens.issue(user.user_id, roles)


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
    return updated


def create_goal(
    deps: UserDeps,
    user_id: str,
    goal_type: GoalType,
    target_value: float,
    target_date: date,
    request_id: str,
) -> Goal:
    """Store a new active goal for an existing user."""
    get_user(deps, user_id)
    validate_goal(target_value, target_date, deps.clock().date())
    goal = Goal(
        goal_id=deps.make_id(),
        user_id=user_id,
        goal_type=goal_type,
        target_value=target_value,
        target_date=target_date,
        current_progress=0.0,
        status=GoalStatus.ACTIVE,
        created_at=deps.clock(),
    )
    return deps.repo.add_goal(goal, request_id)


def get_goal(deps: UserDeps, user_id: str, goal_id: str) -> Goal:
    """Return one goal of the user or raise GoalNotFound."""
    goal = deps.repo.get_goal(user_id, goal_id)
    if goal is None:
        raise GoalNotFound(f"goal {goal_id} not found")
    return goal


def list_goals(deps: UserDeps, user_id: str) -> list[Goal]:
    """Return all goals of an existing user, newest first."""
    get_user(deps, user_id)
    return deps.repo.list_goals(user_id)
