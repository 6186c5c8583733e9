"""Rows of the user service's tables <-> its domain objects (for sql_repository.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from services.common.timeutil import as_utc
from services.user.domain import (
    Goal,
    GoalOperation,
    GoalStatus,
    GoalType,
    Notification,
    Profile,
    User,
    email_key,
)

PROFILE_COLUMNS = ("display_name", "weight_kg", "height_cm", "birth_year")


def user_row(user: User, request_id: str) -> dict[str, Any]:
    """The users row of a new account (its email key derived, updated when created)."""
    return {
        "user_id": user.user_id,
        "username": user.username,
        "email": user.email,
        "email_key": email_key(user.email),
        "password_hash": user.password_hash,
        "display_name": user.profile.display_name,
        "weight_kg": user.profile.weight_kg,
        "height_cm": user.profile.height_cm,
        "birth_year": user.profile.birth_year,
        "request_id": request_id or None,
        "created_at": user.created_at,
        "updated_at": user.created_at,
    }


def to_user(row: RowMapping) -> User:
    """The account a users row holds."""
    profile = Profile(**{name: row[name] for name in PROFILE_COLUMNS})
    return User(
        user_id=row["user_id"],
        username=row["username"],
        email=row["email"],
        password_hash=row["password_hash"],
        profile=profile,
        created_at=as_utc(row["created_at"]),
    )


def goal_row(goal: Goal, updated_at: datetime) -> dict[str, Any]:
    """The goals row of a goal, its pending change flattened into columns."""
    target = goal.pending_target
    return {
        "pending_operation": goal.pending_operation.value if goal.pending_operation else None,
        "pending_saga_id": goal.pending_saga_id,
        "pending_target_value": target[0] if target else None,
        "pending_target_date": target[1] if target else None,
        "achieved_at": goal.achieved_at,
        "goal_id": goal.goal_id,
        "user_id": goal.user_id,
        "goal_type": goal.goal_type.value,
        "target_value": goal.target_value,
        "target_date": goal.target_date,
        "current_progress": goal.current_progress,
        "status": goal.status.value,
        "created_at": goal.created_at,
        "updated_at": updated_at,
    }


def to_goal(row: RowMapping) -> Goal:
    """The goal a goals row holds, times in UTC."""
    target_date: date = row["target_date"]
    created_at: datetime = row["created_at"]
    operation = row["pending_operation"]
    pending_value, pending_date = row["pending_target_value"], row["pending_target_date"]
    return Goal(
        goal_id=row["goal_id"],
        user_id=row["user_id"],
        goal_type=GoalType(row["goal_type"]),
        target_value=row["target_value"],
        target_date=target_date,
        current_progress=row["current_progress"],
        status=GoalStatus(row["status"]),
        created_at=as_utc(created_at),
        pending_operation=GoalOperation(operation) if operation else None,
        pending_saga_id=row["pending_saga_id"],
        pending_target=(pending_value, pending_date) if pending_value is not None else None,
        achieved_at=as_utc(row["achieved_at"]) if row["achieved_at"] else None,
    )


def to_notification(row: RowMapping) -> Notification:
    """The notification a notifications row holds."""
    fields = {name: row[name] for name in Notification.__dataclass_fields__}
    return Notification(**{**fields, "created_at": as_utc(row["created_at"])})
