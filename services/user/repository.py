"""Port for user and goal storage; the SQLAlchemy adapter lives in sql_repository.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.user.domain import Goal, Notification, User


class UserRepository(Protocol):
    """Port: where users and goals live."""

    def add_user(self, user: User, request_id: str) -> User:
        """Store a new user; a known request_id returns the user stored by it."""
        ...

    def get_user(self, user_id: str) -> User | None:
        """Return the user with this id, if any."""
        ...

    def find_by_email(self, email: str) -> User | None:
        """Return the user with this email, compared case-insensitively."""
        ...

    def update_profile(self, user_id: str, changes: Mapping[str, Any]) -> User | None:
        """Apply profile field changes; None when the user does not exist."""
        ...

    def get_goal(self, user_id: str, goal_id: str) -> Goal | None:
        """Return one goal of the user, if it exists."""
        ...

    def list_goals(self, user_id: str) -> list[Goal]:
        """Return the user's goals, newest first."""
        ...

    def write_goals(self, request_id: str, writes: Sequence[GoalWrite], now: datetime) -> bool:
        """Apply the writes and record request_id (processed at ``now``), all or nothing.

        Returns False, writing nothing, when request_id was recorded before; raises
        StaleGoal when a goal no longer matches the state a write was computed from.
        """
        ...

    def list_notifications(self, user_id: str, limit: int) -> list[Notification]:
        """Return the user's notifications, newest first."""
        ...

    def notifications_of(self, request_id: str) -> list[Notification]:
        """Return the notifications written by write_goals(request_id, ...), oldest first."""
        ...

    def mark_deleting(self, user_id: str, saga_id: str, request_id: str, now: datetime) -> bool:
        """Hide the user from every read and revoke his refresh tokens, once per request_id.

        False when there is no such user (never registered, or already erased).
        """
        ...

    def unmark_deleting(self, user_id: str, saga_id: str) -> None:
        """Undo mark_deleting of this saga, unless the user was erased meanwhile."""
        ...

    def erase_user(self, user_id: str, request_id: str, now: datetime) -> None:
        """Delete the user's goals (leaving tombstones), notifications, tokens and account."""
        ...


@dataclass(frozen=True)
class GoalWrite:
    """One goal's new state (None deletes it), valid only if it still is ``previous``."""

    previous: Goal | None
    new: Goal | None
    notifications: tuple[Notification, ...] = ()
