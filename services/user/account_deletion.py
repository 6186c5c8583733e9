"""The user service's steps of the account deletion saga; no gRPC here."""

from __future__ import annotations

from services.user.domain import InvalidInput, UserNotFound
from services.user.service import UserDeps, forget_user


def begin_user_deletion(deps: UserDeps, saga_id: str, user_id: str, request_id: str) -> None:
    """Mark the user as being deleted: from now on logins, tokens and goals refuse him."""
    _require(saga_id, user_id, request_id)
    if not deps.repo.mark_deleting(user_id, saga_id, request_id, deps.clock()):
        raise UserNotFound(f"user {user_id} not found")
    forget_user(deps, user_id)  # GetUser answers NOT_FOUND from now on


def cancel_user_deletion(deps: UserDeps, saga_id: str, user_id: str, request_id: str) -> None:
    """Clear this saga's mark, so the account is usable again (the saga's compensation)."""
    _require(saga_id, user_id, request_id)
    deps.repo.unmark_deleting(user_id, saga_id)
    forget_user(deps, user_id)


def erase_user(deps: UserDeps, saga_id: str, user_id: str, request_id: str) -> None:
    """Erase the account and everything of it; tombstones remain for the ETL."""
    _require(saga_id, user_id, request_id)
    deps.repo.erase_user(user_id, request_id, deps.clock())
    forget_user(deps, user_id)


def _require(saga_id: str, user_id: str, request_id: str) -> None:
    missing = [
        name
        for name, value in (("request_id", request_id), ("saga_id", saga_id), ("user_id", user_id))
        if not value
    ]
    if missing:
        raise InvalidInput(f"required: {', '.join(missing)}")
