"""Translation between fitness.user.v1 messages and the user service's domain objects."""

from __future__ import annotations

from typing import Any

from fitness.user.v1 import user_service_pb2 as pb

from services.common.timeutil import format_time
from services.user import service
from services.user.domain import Goal, Notification, Profile, User

OPERATION_PREFIX = "GOAL_OPERATION_"
PROFILE_FIELDS = ("display_name", "weight_kg", "height_cm", "birth_year")


def profile_from_proto(message: pb.Profile) -> Profile:
    """Read a Profile message, keeping unset optional fields as None."""
    optional = ("weight_kg", "height_cm", "birth_year")
    values = {name: getattr(message, name) if message.HasField(name) else None for name in optional}
    return Profile(display_name=message.display_name, **values)


def profile_changes_from_proto(request: pb.UpdateProfileRequest) -> dict[str, Any]:
    """The profile fields an UpdateProfile request sets, by name."""
    return {name: getattr(request, name) for name in PROFILE_FIELDS if request.HasField(name)}


def session_to_proto(session: service.Session) -> pb.LoginResponse:
    """Render the tokens of a login or refresh."""
    return pb.LoginResponse(
        token=session.access.token,
        user_id=session.user.user_id,
        expires_in=session.access.expires_in,
        refresh_token=session.refresh_token,
        refresh_expires_in=session.refresh_expires_in,
    )


def user_to_proto(user: User) -> pb.User:
    """Render a user without his password hash."""
    profile = pb.Profile(display_name=user.profile.display_name)
    for name in ("weight_kg", "height_cm", "birth_year"):
        value = getattr(user.profile, name)
        if value is not None:
            setattr(profile, name, value)
    return pb.User(
        user_id=user.user_id,
        username=user.username,
        email=user.email,
        profile=profile,
        create_time=format_time(user.created_at),
    )


def goal_to_proto(goal: Goal) -> pb.Goal:
    """Render a goal."""
    return pb.Goal(
        goal_id=goal.goal_id,
        user_id=goal.user_id,
        goal_type=goal.goal_type.to_proto(),
        target_value=goal.target_value,
        target_date=goal.target_date.isoformat(),
        current_progress=goal.current_progress,
        status="GOAL_STATUS_" + goal.status.value.upper(),
        create_time=format_time(goal.created_at),
        pending_operation=(
            OPERATION_PREFIX + goal.pending_operation.value.upper()
            if goal.pending_operation
            else "GOAL_OPERATION_UNSPECIFIED"
        ),
        pending_saga_id=goal.pending_saga_id or "",
        achieve_time=format_time(goal.achieved_at) if goal.achieved_at else "",
    )


def notification_to_proto(note: Notification) -> pb.Notification:
    """Render a notification."""
    return pb.Notification(
        notification_id=note.notification_id,
        user_id=note.user_id,
        kind=note.kind,
        goal_id=note.goal_id,
        message=note.message,
        create_time=format_time(note.created_at),
    )


def change_to_proto(goal: Goal | None) -> pb.GoalChangeResponse:
    """Render a saga step's answer: the goal, or an empty answer when there is none."""
    return pb.GoalChangeResponse(goal=goal_to_proto(goal)) if goal else pb.GoalChangeResponse()
