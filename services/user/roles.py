"""Operator use cases: grant, revoke and list roles (never derived from a name a user picks)."""

from __future__ import annotations

from services.common.timeutil import Clock, utc_now
from services.user.auth_store import AuthStore
from services.user.domain import ROLES, InvalidInput, RoleGrant, User, UserNotFound
from services.user.repository import UserRepository


def find_account(users: UserRepository, user_id: str = "", email: str = "") -> User:
    """The user with this id or email (exactly one of them given), or UserNotFound."""
    if bool(user_id) == bool(email):
        raise InvalidInput("name the account by exactly one of user id or email")
    user = users.get_user(user_id) if user_id else users.find_by_email(email)
    if user is None:
        raise UserNotFound(f"no user with {'id ' + user_id if user_id else 'email ' + email}")
    return user


def grant_role(store: AuthStore, user: User, role: str, clock: Clock = utc_now) -> bool:
    """Give the user a role; False when he already held it."""
    return store.grant_role(RoleGrant(user.user_id, known_role(role), clock()))


def revoke_role(store: AuthStore, user: User, role: str) -> bool:
    """Take a role from the user; False when he did not hold it."""
    return store.revoke_role(user.user_id, known_role(role))


def list_grants(store: AuthStore, role: str | None = None) -> list[RoleGrant]:
    """Every grant, or those of one role."""
    return store.list_grants(known_role(role) if role is not None else None)


def known_role(role: str) -> str:
    """The role if the platform knows it, else InvalidInput."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; known roles: {', '.join(sorted(ROLES))}")
    return role
