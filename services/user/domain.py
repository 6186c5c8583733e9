"""Users, profiles and goals, with the rules that keep them valid."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

# The goal types are the platform's shared vocabulary (fitness.goal.v1.GoalType).
from services.common.goal_types import GoalType as GoalType
from services.common.text import describe, unsafe_character


class DomainError(Exception):
    """Base of the errors a use case reports to its caller."""


class InvalidInput(DomainError):
    """A value breaks a documented rule."""


class EmailAlreadyRegistered(DomainError):
    """Another account uses this email, compared case-insensitively."""


class UsernameTaken(DomainError):
    """Another account uses this username."""


class InvalidCredentials(DomainError):
    """Email unknown or password wrong; deliberately not saying which."""


class UserNotFound(DomainError):
    """No user has this id."""


class GoalNotFound(DomainError):
    """The user has no goal with this id."""


class Overloaded(DomainError):
    """Too many password hashes are already in progress; the caller should retry later."""


class InvalidRefreshToken(DomainError):
    """The refresh token is unknown, expired, revoked, or was already exchanged."""


class GoalBusy(DomainError):
    """Another saga is changing this goal; the caller should retry later."""


class StaleGoal(Exception):
    """A goal changed between reading it and writing the result; read again and retry."""


class GoalOperation(StrEnum):
    """A change to a goal that a saga prepares, then commits or cancels."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class GoalStatus(StrEnum):
    """Where a goal stands."""

    ACTIVE = "active"
    ACHIEVED = "achieved"


USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{3,32}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
PASSWORD_LENGTH = (8, 128)
WEIGHT_KG_RANGE = (20.0, 400.0)
HEIGHT_CM_RANGE = (50.0, 272.0)
EARLIEST_BIRTH_YEAR = 1900
DISPLAY_NAME_MAX = 64
TARGET_VALUE_MAX = 10_000_000.0


@dataclass(frozen=True)
class Profile:
    """Personal data a user may change himself."""

    display_name: str = ""
    weight_kg: float | None = None
    height_cm: float | None = None
    birth_year: int | None = None


@dataclass(frozen=True)
class User:
    """A registered account."""

    user_id: str
    username: str
    email: str
    password_hash: str
    profile: Profile
    created_at: datetime


# Roles an operator may grant; a token carries those its user holds.
ADMIN_ROLE = "admin"
# Reads every user's watch logs through the reporting routes (docs/watch-logs.md).
ANALYST_ROLE = "analyst"
ROLES = frozenset({ADMIN_ROLE, ANALYST_ROLE})


@dataclass(frozen=True)
class RoleGrant:
    """A role an operator granted to a user."""

    user_id: str
    role: str
    granted_at: datetime


@dataclass(frozen=True)
class RefreshRecord:
    """What the store keeps of a refresh token: its SHA-256, never the token itself."""

    token_hash: str
    family_id: str
    user_id: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Goal:
    """A target a user sets for himself."""

    goal_id: str
    user_id: str
    goal_type: GoalType
    target_value: float
    target_date: date
    current_progress: float
    status: GoalStatus
    created_at: datetime
    pending_operation: GoalOperation | None = None
    pending_saga_id: str | None = None
    # The target a prepared update will set, applied on commit.
    pending_target: tuple[float, date] | None = None
    achieved_at: datetime | None = None

    def with_progress(self, added: float, now: datetime) -> Goal:
        """The goal after ``added`` more progress, achieved once the target is reached."""
        return replace(self, current_progress=self.current_progress + added).settled(now)

    def settled(self, now: datetime) -> Goal:
        """The goal with its status matching its progress against the target."""
        if self.current_progress >= self.target_value:
            return replace(self, status=GoalStatus.ACHIEVED, achieved_at=self.achieved_at or now)
        return replace(self, status=GoalStatus.ACTIVE, achieved_at=None)


@dataclass(frozen=True)
class WorkoutDone:
    """An ended workout, as far as goal progress is concerned."""

    end_time: datetime
    duration_seconds: float
    calories: float

    def progress_toward(self, goal_type: GoalType) -> float:
        """How much this workout adds to a goal of this type (sessions carry no distance)."""
        return {
            GoalType.WORKOUTS_COUNT: 1.0,
            GoalType.ACTIVE_MINUTES: self.duration_seconds / 60,
            GoalType.CALORIES_BURNED: self.calories,
            GoalType.DISTANCE_KM: 0.0,
        }[goal_type]


@dataclass(frozen=True)
class Notification:
    """Something the platform tells a user, e.g. that he reached a goal."""

    notification_id: str
    user_id: str
    kind: str
    goal_id: str
    message: str
    created_at: datetime


def email_key(email: str) -> str:
    """The form of an email used for uniqueness and lookup."""
    return email.strip().lower()


def validate_registration(username: str, email: str, password: str) -> None:
    """Reject a username, email or password that breaks the documented rules."""
    # fullmatch: with match, "$" would also accept a trailing newline.
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput("username must be 3-32 letters, digits, '.', '_' or '-'")
    bad = unsafe_character(email, formats=False)
    if bad is not None:
        raise InvalidInput(f"email must not contain {describe(bad)}")
    if len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        raise InvalidInput("email is not a valid address")
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise InvalidInput(f"password must be {low}-{high} characters")
    _check_text("password", password)


def validated_profile(profile: Profile, this_year: int) -> Profile:
    """Return the profile with a trimmed name if every field is within its range."""
    name = profile.display_name.strip()
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidInput(f"display_name must be at most {DISPLAY_NAME_MAX} characters")
    _check_text("display_name", name)
    _check_range("weight_kg", profile.weight_kg, WEIGHT_KG_RANGE)
    _check_range("height_cm", profile.height_cm, HEIGHT_CM_RANGE)
    if profile.birth_year is not None:
        _check_range("birth_year", profile.birth_year, (EARLIEST_BIRTH_YEAR, this_year))
    return replace(profile, display_name=name)


def _check_text(name: str, value: str) -> None:
    """Refuse controls and bidi overrides (the gateway does too; this is for gRPC callers)."""
    bad = unsafe_character(value)
    if bad is not None:
        raise InvalidInput(f"{name} must not contain {describe(bad)}")


def _check_range(name: str, value: float | None, bounds: tuple[float, float]) -> None:
    if value is None:
        return
    low, high = bounds
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidInput(f"{name} must be between {low:g} and {high:g}")


def validate_goal(target_value: float, target_date: date, today: date) -> None:
    """Reject a target that is not a positive finite number or a date in the past."""
    if not (math.isfinite(target_value) and 0 < target_value <= TARGET_VALUE_MAX):
        raise InvalidInput(f"target_value must be greater than 0 and at most {TARGET_VALUE_MAX:g}")
    if target_date < today:
        raise InvalidInput("target_date must not be in the past")
